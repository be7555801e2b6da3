package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoEnsemble is returned by Servers when $ZK_SERVERS is unset and no
// local ensemble is recorded. Its message says how to get one.
var ErrNoEnsemble = errors.New("no ZooKeeper ensemble: set ZK_SERVERS=host:port,... or start a local one with `make ensemble-up` (or `zkcoord ensemble up`)")

// Servers returns the ensemble to use, and where it was found: "ZK_SERVERS",
// or the path of the ensemble.json it was read from.
//
// $ZK_SERVERS wins when set; its items are trimmed and empty ones dropped.
// Otherwise the directory $ZKCOORD_ENSEMBLE_DIR names, or else the first
// .ensemble directory found from the working directory upwards, must hold an
// ensemble.json listing at least one server. With neither, the error
// matches ErrNoEnsemble; a file that cannot be read or lists no server is
// an error naming the file.
func Servers() (servers []string, source string, err error) {
	if s := strings.TrimSpace(os.Getenv("ZK_SERVERS")); s != "" {
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				servers = append(servers, item)
			}
		}
		if len(servers) == 0 {
			return nil, "", fmt.Errorf("ZK_SERVERS=%q lists no server", s)
		}
		return servers, "ZK_SERVERS", nil
	}
	var file string
	if dir := os.Getenv("ZKCOORD_ENSEMBLE_DIR"); dir != "" {
		file = filepath.Join(dir, "ensemble.json")
	} else if file, err = findUp(filepath.Join(".ensemble", "ensemble.json")); err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%w (%s does not exist)", ErrNoEnsemble, file)
	}
	if err != nil {
		return nil, "", err
	}
	var state struct {
		Servers []string `json:"servers"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, "", fmt.Errorf("%s: %w: start the ensemble again with `make ensemble-up`", file, err)
	}
	if len(state.Servers) == 0 {
		return nil, "", fmt.Errorf("%s lists no servers: start the ensemble again with `make ensemble-up`", file)
	}
	return state.Servers, file, nil
}

// findUp returns dir/name for the first dir, from the working directory up
// to the root, where it exists.
func findUp(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		file := filepath.Join(dir, name)
		if _, err := os.Stat(file); err == nil {
			return file, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoEnsemble
		}
		dir = parent
	}
}
