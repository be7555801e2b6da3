package session

import (
	"context"
	"fmt"
	"log/slog"
)

// zkLogger routes go-zookeeper's printf logging into slog at debug level:
// the manager reports what matters itself, with stable keys.
type zkLogger struct{ l *slog.Logger }

func (z zkLogger) Printf(format string, args ...any) {
	if z.l.Enabled(context.Background(), slog.LevelDebug) {
		z.l.Debug(fmt.Sprintf(format, args...), "source", "go-zookeeper")
	}
}
