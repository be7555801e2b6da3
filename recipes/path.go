package recipes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxPathLen is the longest recipe directory, in bytes of UTF-8, that
// ValidatePath accepts.
//
// ZooKeeper itself only bounds a path by the packet that carries it
// (jute.maxbuffer, 1 MiB by default), but a recipe directory is not used
// alone: every contender creates a child under it (up to about 60 bytes:
// "_c_" + 36-byte UUID + "-" + marker + an 11-byte sequence), the semaphore
// nests "/locks" and "/leases" below it, and every path a client watches is
// sent again, all in one packet, when it reconnects. 1 KiB leaves all of that
// far inside the server's limits, and is well beyond any lock path that
// Curator or kazoo users write in practice.
const MaxPathLen = 1024

// reservedRoot is ZooKeeper's own subtree (quotas, dynamic configuration).
const reservedRoot = "/zookeeper"

// ValidatePath reports whether p can be a recipe's directory. It returns nil
// or a *PathError (which matches ErrInvalidPath).
//
// It accepts what ZooKeeper's PathUtils.validatePath accepts, minus what no
// recipe should use:
//
//   - p is absolute ("/..."), is not the root "/" (a recipe needs a directory
//     of its own: its contenders are the directory's children), and has no
//     trailing "/";
//   - no segment is empty ("//"), "." or "..";
//   - p is not /zookeeper nor under it (ZooKeeper's own subtree);
//   - p is valid UTF-8 with no NUL, no control character (U+0001–U+001F,
//     U+007F–U+009F), nothing in U+D800–U+F8FF (surrogates, private use) or
//     U+FFF0–U+FFFF, and nothing above U+FFFF: the server checks Java's
//     UTF-16 code units, where such a character is a surrogate pair, so it
//     refuses every one of them;
//   - p is at most MaxPathLen bytes.
//
// With a chroot, p is the path the client sees, below the chroot.
func ValidatePath(p string) error {
	reject := func(format string, args ...any) error {
		return &PathError{Path: p, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case p == "":
		return reject("empty path")
	case len(p) > MaxPathLen:
		return reject("%d bytes, longer than MaxPathLen (%d)", len(p), MaxPathLen)
	case p[0] != '/':
		return reject("not absolute: must start with /")
	case p == "/":
		return reject("the root cannot hold a recipe: it needs a directory of its own")
	case p[len(p)-1] == '/':
		return reject("trailing /")
	}

	segStart := 1 // byte offset of the current segment, just after its '/'
	for i := 1; i <= len(p); {
		if i == len(p) || p[i] == '/' {
			switch seg := p[segStart:i]; seg {
			case "":
				return reject("empty segment (//) at byte %d", i)
			case ".", "..":
				return reject("relative segment %q at byte %d", seg, segStart)
			}
			i++
			segStart = i
			continue
		}
		r, size := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return reject("invalid UTF-8 at byte %d", i)
		case r == 0:
			return reject("NUL character at byte %d", i)
		case r <= 0x1F, r >= 0x7F && r <= 0x9F:
			return reject("control character %U at byte %d", r, i)
		case r >= 0xD800 && r <= 0xF8FF, r >= 0xFFF0 && r <= 0xFFFF:
			return reject("character %U at byte %d is refused by ZooKeeper", r, i)
		case r > 0xFFFF:
			return reject("character %U at byte %d is refused by ZooKeeper (outside the BMP, a surrogate pair in Java)", r, i)
		}
		i += size
	}

	if p == reservedRoot || strings.HasPrefix(p, reservedRoot+"/") {
		return reject("%s is ZooKeeper's own subtree", reservedRoot)
	}
	return nil
}

// Join returns the path of the child name under dir: Join("/a", "b") is
// "/a/b" and Join("/", "b") is "/b". It does no validation.
func Join(dir, name string) string {
	return strings.TrimSuffix(dir, "/") + "/" + name
}

// Parent returns the directory that holds p: Parent("/a/b") is "/a",
// Parent("/a") and Parent("/") are "/". p should be a valid absolute path;
// for a string without "/" Parent returns "".
func Parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	switch {
	case i < 0:
		return ""
	case i == 0:
		return "/"
	}
	return p[:i]
}

// Base returns the last segment of p, the child name a create returns in a
// full path: Base("/a/_c_x-lock-0000000001") is "_c_x-lock-0000000001".
// Base("/") is "".
func Base(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}
