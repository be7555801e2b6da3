//go:build !unix

package ports

import "os"

// Without flock, reservations are not shared between processes; ports
// outside the ephemeral range still keep the kernel from handing them out.
func lock(string) (*os.File, error) { return nil, nil }

func unlock(*os.File) {}
