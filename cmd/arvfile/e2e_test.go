package main

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bin is the command, built once for the test binary by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "arvfile-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "arvfile")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the command: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness runs the built command against a keep directory and a resume
// cache of the test's own.
type harness struct {
	t                 *testing.T
	keepDir, cacheDir string
	env               []string
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, keepDir: t.TempDir(), cacheDir: t.TempDir()}
}

// command returns the command line, with --keep (unless the harness has no
// keep directory) and the test's cache.
func (h *harness) command(args ...string) *exec.Cmd {
	if h.keepDir != "" {
		args = append([]string{"--keep", h.keepDir}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+h.cacheDir, "ARVFILE_STORE="), h.env...)
	return cmd
}

// run runs the command with stdin and returns its stdout, stderr and exit
// status.
func (h *harness) runIn(stdin string, args ...string) (string, string, int) {
	h.t.Helper()
	cmd := h.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(h.t, err)
	}
	return stdout.String(), stderr.String(), code
}

func (h *harness) run(args ...string) (string, string, int) {
	h.t.Helper()
	return h.runIn("", args...)
}

// put puts args and returns the locator it printed.
func (h *harness) put(args ...string) string {
	h.t.Helper()
	stdout, stderr, code := h.run(append([]string{"put"}, args...)...)
	require.Equal(h.t, 0, code, stderr)
	return lastLine(stdout)
}

// putJSON puts args with --json and returns the result.
func (h *harness) putJSON(args ...string) putResult {
	h.t.Helper()
	stdout, stderr, code := h.run(append([]string{"put", "--json"}, args...)...)
	require.Equal(h.t, 0, code, stderr)
	var res putResult
	require.NoError(h.t, json.Unmarshal([]byte(stdout), &res), stdout)
	return res
}

// blockFiles lists the block files of the keep directory.
func (h *harness) blockFiles() []string {
	h.t.Helper()
	var out []string
	require.NoError(h.t, filepath.WalkDir(h.keepDir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(h.t, err)
		if !d.IsDir() && filepath.Dir(p) != h.keepDir {
			out = append(out, p)
		}
		return nil
	}))
	return out
}

// blockPath is the file of the block locator in the keep directory.
func (h *harness) blockPath(locator string) string {
	return filepath.Join(h.keepDir, locator[:3], locator[:32])
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func pdhOf(manifest string) string {
	return fmt.Sprintf("%x+%d", md5.Sum([]byte(manifest)), len(manifest))
}

func locatorOf(data string) string {
	return fmt.Sprintf("%x+%d", md5.Sum([]byte(data)), len(data))
}

// tree is the directory tree put and got back: nested directories, an
// empty file, an empty directory, odd names and a file of several MiB.
func tree() map[string]string {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	return map[string]string{
		"big.bin":                  string(big),
		"emptydir/":                "",
		"nested/a/b/deep.txt":      "deep",
		"nested/empty.txt":         "",
		"odd names/back\\slash":    "backslash",
		"odd names/co:lon":         "colon",
		"odd names/with space.txt": "space",
		"odd names/ünïcødé ✓":      "unicode",
		"top.txt":                  "top\n",
	}
}

// writeTree creates files below dir; a name ending with "/" is an empty
// directory.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// readTree returns every file (with its content) and empty directory
// (ending with "/") below dir, walking with os functions (names need not be
// UTF-8).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(p, rel string)
	walk = func(p, rel string) {
		list, err := os.ReadDir(p)
		require.NoError(t, err)
		if len(list) == 0 && rel != "" {
			out[rel+"/"] = ""
		}
		for _, d := range list {
			r := d.Name()
			if rel != "" {
				r = rel + "/" + d.Name()
			}
			if d.IsDir() {
				walk(filepath.Join(p, d.Name()), r)
				continue
			}
			b, err := os.ReadFile(filepath.Join(p, d.Name()))
			require.NoError(t, err)
			out[r] = string(b)
		}
	}
	walk(dir, "")
	return out
}

func TestPutThenGetGivesTheTreeBackByteForByte(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	files := tree()
	writeTree(t, src, files)

	stdout, stderr, code := h.run("put", src)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "", stderr, "no progress bar when stderr is not a terminal")
	pdh := lastLine(stdout)

	// The small files (all of them, here) are packed into one block in the
	// order put wrote them.
	packed := files["big.bin"] + "deep" + "backslash" + "colon" + "space" + "unicode" + "top\n"
	block := locatorOf(packed)
	wantManifest := ". " + block + " 0:3145728:big.bin 3145758:4:top.txt\n" +
		"./emptydir d41d8cd98f00b204e9800998ecf8427e+0 0:0:\\056\n" +
		"./nested d41d8cd98f00b204e9800998ecf8427e+0 0:0:empty.txt\n" +
		"./nested/a/b " + block + " 3145728:4:deep.txt\n" +
		"./odd\\040names " + block + " 3145732:9:back\\134slash 3145741:5:co\\072lon 3145746:5:with\\040space.txt 3145751:7:ünïcødé\\040✓\n"
	assert.Equal(t, pdhOf(wantManifest), pdh)

	stdout, _, code = h.run("manifest", pdh)
	assert.Equal(t, 0, code)
	assert.Equal(t, wantManifest, stdout)

	stdout, _, code = h.run("ls", pdh)
	assert.Equal(t, 0, code)
	assert.Equal(t, "big.bin\nemptydir/\nnested/\nodd names/\ntop.txt\n", stdout)
	stdout, _, code = h.run("ls", pdh+"/odd names/")
	assert.Equal(t, 0, code)
	assert.Equal(t, "back\\slash\nco:lon\nwith space.txt\nünïcødé ✓\n", stdout)
	stdout, _, code = h.run("ls", pdh+"/nested/a/b/deep.txt")
	assert.Equal(t, 0, code)
	assert.Equal(t, "nested/a/b/deep.txt\n", stdout)

	for _, name := range []string{"top.txt", "odd names/ünïcødé ✓", "nested/empty.txt", "big.bin"} {
		stdout, _, code = h.run("cat", pdh+"/"+name)
		assert.Equal(t, 0, code)
		assert.Equal(t, files[name], stdout, name)
	}

	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code = h.run("get", pdh, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, files, readTree(t, dest))

	sub := filepath.Join(t.TempDir(), "sub")
	_, stderr, code = h.run("get", pdh+"/odd names", sub)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"back\\slash": "backslash", "co:lon": "colon", "with space.txt": "space", "ünïcødé ✓": "unicode"},
		readTree(t, sub))

	one := t.TempDir()
	_, stderr, code = h.run("get", pdh+"/nested/a/b/deep.txt", one)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"deep.txt": "deep"}, readTree(t, one))

	stdout, _, code = h.run("put", "--no-resume", src)
	assert.Equal(t, 0, code)
	assert.Equal(t, pdh+"\n", stdout, "putting the same tree again gives the same hash")
}

func TestTheDefaultStoreIsUnderTheUsersDataDirectory(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"f": "data"})
	for _, tt := range []struct {
		name string
		env  []string
		dir  func(base string) string
	}{
		{"XDG_DATA_HOME", []string{"XDG_DATA_HOME="}, func(base string) string { return filepath.Join(base, "arvfile", "keep") }},
		{"HOME", []string{"XDG_DATA_HOME=", "HOME="}, func(base string) string { return filepath.Join(base, ".local", "share", "arvfile", "keep") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			env := append([]string(nil), tt.env...)
			env[len(env)-1] += base
			cmd := exec.Command(bin, "put", src)
			cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "ARVFILE_STORE="), env...)
			out, err := cmd.Output()
			require.NoError(t, err)
			pdh := strings.TrimSpace(string(out))
			want := fmt.Sprintf(". %s 0:4:f\n", locatorOf("data"))
			assert.Equal(t, pdhOf(want), pdh)
			text, err := os.ReadFile(filepath.Join(tt.dir(base), pdh[:3], pdh[:32]))
			require.NoError(t, err, "the manifest is a block of the default store")
			assert.Equal(t, want, string(text))
		})
	}
}
