package recipes

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestValidatePath(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxPathLen-1)
	tests := []struct {
		path   string
		ok     bool
		reason string // a substring of the PathError's Reason
	}{
		{"/locks/payments", true, ""},
		{"/a", true, ""},
		{"/a/b/c", true, ""},
		{"/zookeeperx", true, ""},
		{"/zoo/zookeeper", true, ""},
		{"/a/.b", true, ""},
		{"/a/b.", true, ""},
		{"/a/...", true, ""},
		{"/a b/c", true, ""},    // a space is fine
		{"/café/ñ", true, ""},   // so is non-ASCII in the BMP
		{"/a/\u00a0", true, ""}, // U+00A0, just past the C1 controls
		{"/\uf900", true, ""},   // just past the private use area
		{"/\uffef", true, ""},   // just before U+FFF0
		{"/_c_x-lock-0000000001", true, ""},
		{long, true, ""},

		{"", false, "empty path"},
		{"a/b", false, "not absolute"},
		{" /a", false, "not absolute"},
		{"/", false, "root"},
		{"/a/", false, "trailing /"},
		{"//", false, "trailing /"},
		{"//a", false, "empty segment"},
		{"/a//b", false, "empty segment"},
		{"/.", false, "relative segment"},
		{"/..", false, "relative segment"},
		{"/a/./b", false, "relative segment"},
		{"/a/../b", false, "relative segment"},
		{"/a/..", false, "relative segment"},
		{"/zookeeper", false, "ZooKeeper's own subtree"},
		{"/zookeeper/quota", false, "ZooKeeper's own subtree"},
		{"/a\x00b", false, "NUL"},
		{"/a\tb", false, "control character U+0009"},
		{"/a\x1f", false, "control character U+001F"},
		{"/a\x7f", false, "control character U+007F"},
		{"/a\u0085", false, "control character U+0085"},
		{"/a\u009f", false, "control character U+009F"},
		{"/\ue000", false, "U+E000"},
		{"/\uf8ff", false, "U+F8FF"},
		{"/\ufff0", false, "U+FFF0"},
		{"/\ufffd", false, "U+FFFD"},
		{"/\uffff", false, "U+FFFF"},
		{"/\U0001F512", false, "U+1F512"}, // 🔒: a surrogate pair to ZooKeeper
		{"/a\xffb", false, "invalid UTF-8 at byte 2"},
		{"/\xed\xa0\x80", false, "invalid UTF-8"}, // an encoded surrogate
		{long + "b", false, "longer than MaxPathLen"},
	}
	for _, tt := range tests {
		err := ValidatePath(tt.path)
		if tt.ok {
			if err != nil {
				t.Errorf("ValidatePath(%q) = %v, want nil", tt.path, err)
			}
			continue
		}
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Errorf("ValidatePath(%q) = %v, want a *PathError", tt.path, err)
			continue
		}
		if !errors.Is(err, ErrInvalidPath) || pe.Path != tt.path || !strings.Contains(pe.Reason, tt.reason) {
			t.Errorf("ValidatePath(%q) = %#v, want reason containing %q", tt.path, pe, tt.reason)
		}
	}
}

func TestPathErrorMessage(t *testing.T) {
	err := ValidatePath("/a//b")
	if got, want := err.Error(), `zkcoord: invalid path "/a//b": empty segment (//) at byte 3`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	huge := "/" + strings.Repeat("x", 1<<20)
	if msg := ValidatePath(huge).Error(); len(msg) > 300 {
		t.Errorf("message for a 1 MiB path is %d bytes, want it shortened", len(msg))
	}
}

func TestJoinParentBase(t *testing.T) {
	tests := []struct{ dir, name, joined string }{
		{"/", "a", "/a"},
		{"/a", "b", "/a/b"},
		{"/a/b", "_c_x-lock-0000000001", "/a/b/_c_x-lock-0000000001"},
	}
	for _, tt := range tests {
		if got := Join(tt.dir, tt.name); got != tt.joined {
			t.Errorf("Join(%q, %q) = %q, want %q", tt.dir, tt.name, got, tt.joined)
		}
		if got := Parent(tt.joined); got != tt.dir {
			t.Errorf("Parent(%q) = %q, want %q", tt.joined, got, tt.dir)
		}
		if got := Base(tt.joined); got != tt.name {
			t.Errorf("Base(%q) = %q, want %q", tt.joined, got, tt.name)
		}
	}
	if got := Parent("/"); got != "/" {
		t.Errorf(`Parent("/") = %q, want "/"`, got)
	}
	if got := Parent("a"); got != "" {
		t.Errorf(`Parent("a") = %q, want ""`, got)
	}
	if got := Base("/"); got != "" {
		t.Errorf(`Base("/") = %q, want ""`, got)
	}
}

// zkAccepts restates, independently of ValidatePath, what ZooKeeper's server
// accepts as a path: it works on UTF-16 code units, as Java does, after the
// lenient UTF-8 decoding the server applies (invalid bytes become U+FFFD).
func zkAccepts(p string) bool {
	units := utf16.Encode([]rune(p))
	if len(units) == 0 || units[0] != '/' {
		return false
	}
	if len(units) == 1 {
		return true
	}
	if units[len(units)-1] == '/' {
		return false
	}
	for _, u := range units {
		switch {
		case u <= 0x1F, u >= 0x7F && u <= 0x9F, u >= 0xD800 && u <= 0xF8FF, u >= 0xFFF0:
			return false
		}
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func FuzzValidatePath(f *testing.F) {
	for _, seed := range []string{
		"/a", "/locks/payments", "/", "", "a", "//", "/a/", "/./a", "/a/..",
		"/zookeeper", "/zookeeper/x", "/zookeeperx", "/a\x00", "/\u0085",
		"/\ufff0", "/\U0001F512", "/\xff", "/café",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := ValidatePath(p)
		if err != nil {
			var pe *PathError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("ValidatePath(%q) = %#v, want a *PathError matching ErrInvalidPath", p, err)
			}
			if pe.Path != p || pe.Reason == "" || !strings.HasPrefix(err.Error(), "zkcoord: ") {
				t.Fatalf("ValidatePath(%q) = %#v: bad fields or message", p, pe)
			}
			// Everything we refuse that ZooKeeper would take has a reason of
			// our own: the root, the reserved subtree, the length cap.
			if zkAccepts(p) && p != "/" && len(p) <= MaxPathLen &&
				p != reservedRoot && !strings.HasPrefix(p, reservedRoot+"/") {
				t.Fatalf("ValidatePath(%q) = %v, but ZooKeeper accepts it", p, err)
			}
			return
		}

		if !zkAccepts(p) {
			t.Fatalf("ValidatePath(%q) = nil, but ZooKeeper refuses it", p)
		}
		if len(p) > MaxPathLen {
			t.Fatalf("ValidatePath accepted %d bytes", len(p))
		}
		dir, name := Parent(p), Base(p)
		if name == "" || Join(dir, name) != p {
			t.Fatalf("Join(Parent(%q), Base(%q)) = Join(%q, %q) = %q", p, p, dir, name, Join(dir, name))
		}
		if dir != "/" && ValidatePath(dir) != nil {
			t.Fatalf("Parent(%q) = %q is not valid: %v", p, dir, ValidatePath(dir))
		}
		child := ProtectedPrefix(curatorID) + MarkerLock + "0000000001"
		joined := Join(p, child)
		if Parent(joined) != p || Base(joined) != child {
			t.Fatalf("Join(%q, %q) = %q does not split back", p, child, joined)
		}
		if len(joined) <= MaxPathLen && ValidatePath(joined) != nil {
			t.Fatalf("child path %q refused: %v", joined, ValidatePath(joined))
		}
	})
}
