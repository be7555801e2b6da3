package zktest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ownerFile, in a cluster's directory, holds the pid of the test binary
// that made it.
const ownerFile = "owner.pid"

// writeOwner records this process as the owner of dir.
func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// sweepStale removes cluster directories left by test binaries that died
// without cleaning up (killed, or panicked on -timeout); their servers died
// with them. A directory whose owner may still run is left alone.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "zktest-*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or still being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}
