package main

import (
	"bytes"
	"crypto/md5"
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

// buildCLI builds the command into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "arvfile")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// cli runs the built command with --keep keepDir and returns its stdout,
// stderr and exit status.
func cli(t *testing.T, bin, keepDir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--keep", keepDir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), code
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

// writeTree creates tree below dir.
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
// (ending with "/") below dir.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			list, err := os.ReadDir(p)
			require.NoError(t, err)
			if len(list) == 0 && rel != "." {
				out[rel+"/"] = ""
			}
			return nil
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[rel] = string(b)
		return nil
	}))
	return out
}

func TestPutThenGetGivesTheTreeBackByteForByte(t *testing.T) {
	bin := buildCLI(t)
	keepDir, src := t.TempDir(), t.TempDir()
	files := tree()
	writeTree(t, src, files)

	stdout, stderr, code := cli(t, bin, keepDir, "put", src)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "", stderr, "no progress bar when stderr is not a terminal")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	pdh := lines[len(lines)-1]

	// The small files (all of them, here) are packed into one block in the
	// order put wrote them.
	packed := files["big.bin"] + "deep" + "backslash" + "colon" + "space" + "unicode" + "top\n"
	block := fmt.Sprintf("%x+%d", md5.Sum([]byte(packed)), len(packed))
	wantManifest := ". " + block + " 0:3145728:big.bin 3145758:4:top.txt\n" +
		"./emptydir d41d8cd98f00b204e9800998ecf8427e+0 0:0:\\056\n" +
		"./nested d41d8cd98f00b204e9800998ecf8427e+0 0:0:empty.txt\n" +
		"./nested/a/b " + block + " 3145728:4:deep.txt\n" +
		"./odd\\040names " + block + " 3145732:9:back\\134slash 3145741:5:co\\072lon 3145746:5:with\\040space.txt 3145751:7:ünïcødé\\040✓\n"
	assert.Equal(t, fmt.Sprintf("%x+%d", md5.Sum([]byte(wantManifest)), len(wantManifest)), pdh)

	stdout, _, code = cli(t, bin, keepDir, "manifest", pdh)
	assert.Equal(t, 0, code)
	assert.Equal(t, wantManifest, stdout)

	stdout, _, code = cli(t, bin, keepDir, "ls", pdh)
	assert.Equal(t, 0, code)
	assert.Equal(t, "big.bin\nemptydir/\nnested/\nodd names/\ntop.txt\n", stdout)
	stdout, _, code = cli(t, bin, keepDir, "ls", pdh+"/odd names/")
	assert.Equal(t, 0, code)
	assert.Equal(t, "back\\slash\nco:lon\nwith space.txt\nünïcødé ✓\n", stdout)
	stdout, _, code = cli(t, bin, keepDir, "ls", pdh+"/nested/a/b/deep.txt")
	assert.Equal(t, 0, code)
	assert.Equal(t, "nested/a/b/deep.txt\n", stdout)

	for _, name := range []string{"top.txt", "odd names/ünïcødé ✓", "nested/empty.txt", "big.bin"} {
		stdout, _, code = cli(t, bin, keepDir, "cat", pdh+"/"+name)
		assert.Equal(t, 0, code)
		assert.Equal(t, files[name], stdout, name)
	}

	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code = cli(t, bin, keepDir, "get", pdh, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, files, readTree(t, dest))

	sub := filepath.Join(t.TempDir(), "sub")
	_, stderr, code = cli(t, bin, keepDir, "get", pdh+"/odd names", sub)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"back\\slash": "backslash", "co:lon": "colon", "with space.txt": "space", "ünïcødé ✓": "unicode"},
		readTree(t, sub))

	one := t.TempDir()
	_, stderr, code = cli(t, bin, keepDir, "get", pdh+"/nested/a/b/deep.txt", one)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(filepath.Join(one, "deep.txt"))
	require.NoError(t, err)
	assert.Equal(t, "deep", string(b))
	_, stderr, code = cli(t, bin, keepDir, "get", pdh+"/nested/a/b/deep.txt", one)
	assert.Equal(t, 1, code)
	assert.Equal(t, "arvfile: open "+filepath.Join(one, "deep.txt")+": file exists\n", stderr, "no overwriting")

	stdout, _, code = cli(t, bin, keepDir, "put", src)
	assert.Equal(t, 0, code)
	assert.Equal(t, pdh+"\n", stdout, "putting the same tree again gives the same hash")
}

func TestPutOfSeveralPathsPutsEachUnderItsName(t *testing.T) {
	bin := buildCLI(t)
	keepDir, src := t.TempDir(), t.TempDir()
	writeTree(t, src, map[string]string{"d1/x": "x", "d2/y": "y", "f": "f"})
	stdout, stderr, code := cli(t, bin, keepDir, "put", filepath.Join(src, "d1"), filepath.Join(src, "d2"), filepath.Join(src, "f"))
	require.Equal(t, 0, code, stderr)
	pdh := strings.TrimSpace(stdout)
	stdout, _, code = cli(t, bin, keepDir, "manifest", pdh)
	assert.Equal(t, 0, code)
	block := fmt.Sprintf("%x+3", md5.Sum([]byte("xyf")))
	assert.Equal(t, ". "+block+" 2:1:f\n./d1 "+block+" 0:1:x\n./d2 "+block+" 1:1:y\n", stdout)
}

func TestTheCommandReportsErrors(t *testing.T) {
	bin := buildCLI(t)
	keepDir := t.TempDir()
	missing := "0123456789abcdef0123456789abcdef+10"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"a missing collection", []string{"ls", missing}, 1,
			"arvfile: collection " + missing + ": keep: block not found: " + missing + "\n"},
		{"a missing directory to put", []string{"put", filepath.Join(keepDir, "nope")}, 1,
			"arvfile: stat " + filepath.Join(keepDir, "nope") + ": no such file or directory\n"},
		{"an unknown command", []string{"frobnicate"}, 2, "arvfile: unknown command \"frobnicate\"\n" + usage},
		{"a missing argument", []string{"get", missing}, 2, "arvfile: get: wrong number of arguments\n" + usage},
		{"no command", nil, 2, "arvfile: no command\n" + usage},
		{"a bad flag", []string{"--nope"}, 2, "arvfile: flag provided but not defined: -nope\n" + usage},
		{"not a hash", []string{"cat", "abc/x"}, 2,
			"arvfile: \"abc\" is not a portable data hash: invalid locator \"abc\": hash \"abc\" is not 32 lower-case hex digits\n" + usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, bin, keepDir, tt.args...)
			assert.Equal(t, "", stdout)
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantStderr, stderr)
		})
	}
	stdout, stderr, code := cli(t, bin, keepDir, "help")
	assert.Equal(t, 0, code)
	assert.Equal(t, usage, stdout)
	assert.Equal(t, "", stderr)
}

func TestTheDefaultStoreIsUnderTheUsersDataDirectory(t *testing.T) {
	bin := buildCLI(t)
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
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.Output()
			require.NoError(t, err)
			pdh := strings.TrimSpace(string(out))
			want := fmt.Sprintf(". %x+4 0:4:f\n", md5.Sum([]byte("data")))
			assert.Equal(t, fmt.Sprintf("%x+%d", md5.Sum([]byte(want)), len(want)), pdh)
			text, err := os.ReadFile(filepath.Join(tt.dir(base), pdh[:3], pdh[:32]))
			require.NoError(t, err, "the manifest is a block of the default store")
			assert.Equal(t, want, string(text))
		})
	}
}

// Issue 11 item 6: put and get keep names that are not UTF-8.
func TestPutThenGetKeepsNamesThatAreNotUTF8(t *testing.T) {
	bin := buildCLI(t)
	keepDir, src := t.TempDir(), t.TempDir()
	files := map[string]string{"caf\xe9.txt": "latin-1", "d\xff/\xfe\xfd": "bytes", "ok.txt": "ok"}
	writeTree(t, src, files)

	stdout, stderr, code := cli(t, bin, keepDir, "put", src)
	require.Equal(t, 0, code, stderr)
	pdh := strings.TrimSpace(stdout)
	stdout, _, code = cli(t, bin, keepDir, "ls", pdh)
	assert.Equal(t, 0, code)
	assert.Equal(t, "caf\xe9.txt\nd\xff/\nok.txt\n", stdout)
	stdout, _, code = cli(t, bin, keepDir, "cat", pdh+"/d\xff/\xfe\xfd")
	assert.Equal(t, 0, code)
	assert.Equal(t, "bytes", stdout)

	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code = cli(t, bin, keepDir, "get", pdh, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, files, readTree(t, dest))
}
