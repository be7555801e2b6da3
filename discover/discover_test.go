package discover_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkcoord/zkcoord/discover"
)

func TestServersFromEnvironment(t *testing.T) {
	t.Setenv("ZK_SERVERS", " zk1:2181, zk2:2181 ,")
	servers, source, err := discover.Servers()
	if err != nil || source != "ZK_SERVERS" || !slices.Equal(servers, []string{"zk1:2181", "zk2:2181"}) {
		t.Errorf("Servers() = %q, %q, %v", servers, source, err)
	}
	t.Setenv("ZK_SERVERS", " , ,")
	if _, _, err := discover.Servers(); err == nil || !strings.Contains(err.Error(), "lists no server") {
		t.Errorf("ZK_SERVERS of commas only: err = %v, want one saying it lists no server", err)
	}
}

// Run from anywhere in the repository, a program finds the ensemble that
// `zkcoord ensemble up` recorded at its root.
func TestServersFromLocalEnsemble(t *testing.T) {
	t.Setenv("ZK_SERVERS", "")
	t.Setenv("ZKCOORD_ENSEMBLE_DIR", "")
	root := t.TempDir()
	sub := filepath.Join(root, "examples", "payment-job")
	if err := os.MkdirAll(filepath.Join(root, ".ensemble"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if _, _, err := discover.Servers(); !errors.Is(err, discover.ErrNoEnsemble) {
		t.Errorf("with nothing recorded: err = %v, want ErrNoEnsemble", err)
	}
	state := filepath.Join(root, ".ensemble", "ensemble.json")
	if err := os.WriteFile(state, []byte(`{"servers": ["127.0.0.1:2181", "127.0.0.1:2182"], "pids": [1, 2]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	servers, source, err := discover.Servers()
	if err != nil || source != state || !slices.Equal(servers, []string{"127.0.0.1:2181", "127.0.0.1:2182"}) {
		t.Errorf("Servers() = %q, %q, %v; want the two recorded in %s", servers, source, err, state)
	}

	// A damaged record is an error naming the file, not "no ensemble".
	for _, bad := range []string{`{"servers": []}`, `not json`} {
		if err := os.WriteFile(state, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := discover.Servers()
		if err == nil || errors.Is(err, discover.ErrNoEnsemble) || !strings.Contains(err.Error(), state) {
			t.Errorf("ensemble.json %q: err = %v, want an error naming %s", bad, err, state)
		}
	}

	t.Setenv("ZKCOORD_ENSEMBLE_DIR", t.TempDir())
	if _, _, err := discover.Servers(); !errors.Is(err, discover.ErrNoEnsemble) {
		t.Errorf("with ZKCOORD_ENSEMBLE_DIR empty: err = %v, want ErrNoEnsemble", err)
	}
}
