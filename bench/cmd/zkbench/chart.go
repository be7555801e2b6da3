package main

import (
	"bytes"
	"fmt"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chartName is the handoff chart, written next to the report.
const chartName = "handoff.svg"

// writeChart draws section 4 as two panels side by side, each system's
// handoff median on the left and p99 on the right, against the number of
// waiters on a logarithmic axis.
func writeChart(path string, h handoffResult, waiters []int) error {
	panels := []struct {
		title string
		pick  func(summary) time.Duration
	}{
		{"Handoff latency, median", func(s summary) time.Duration { return s.p50 }},
		{"Handoff latency, p99", func(s summary) time.Duration { return s.p99 }},
	}
	row := make([]*plot.Plot, len(panels))
	for i, pn := range panels {
		p, err := chartPanel(pn.title, h, waiters, pn.pick)
		if err != nil {
			return err
		}
		row[i] = p
	}
	c := vgsvg.New(12*vg.Inch, 5*vg.Inch)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(24), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, dc)
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return err
	}
	return writeFile(path, b.String())
}

func chartPanel(title string, h handoffResult, waiters []int, pick func(summary) time.Duration) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "waiters queued behind the holder"
	p.Y.Label.Text = "unlock → next holder's lock returns (ms)"
	p.X.Scale = plot.LogScale{}
	var ticks plot.ConstantTicks
	for _, n := range waiters {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: fmt.Sprint(n)})
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = float64(waiters[0])/1.4, float64(waiters[len(waiters)-1])*1.4
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	top := 0.0
	for i, k := range h.order {
		xys := make(plotter.XYs, len(waiters))
		for j, n := range waiters {
			y := float64(pick(h.get(k, n))) / float64(time.Millisecond)
			xys[j] = plotter.XY{X: float64(n), Y: y}
			top = max(top, y)
		}
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		c := plotutil.Color(i)
		line.Color, line.Width = c, vg.Points(2)
		pts.Color, pts.Shape, pts.Radius = c, plotutil.Shape(i), vg.Points(3.5)
		p.Add(line, pts)
		p.Legend.Add(h.names[k], line, pts)
	}
	// From zero, with room above the lines for the legend.
	p.Y.Min, p.Y.Max = 0, top*1.45
	return p, nil
}
