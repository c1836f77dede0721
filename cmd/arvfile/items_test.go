//go:build unix

package main

// End-to-end tests, one per numbered item of issue 14: the command runs as a
// subprocess on trees the tests build.

import (
	"bufio"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestItem1PutRefusesSourcesWithTheSameBaseName(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"x/data/f": "x", "y/data/f": "y", "x/file": "1", "y/file": "2"})
	x, y := filepath.Join(src, "x"), filepath.Join(src, "y")
	tests := []struct{ name, a, b, stored string }{
		{"two directories", filepath.Join(x, "data"), filepath.Join(y, "data"), "data"},
		{"two files", filepath.Join(x, "file"), filepath.Join(y, "file"), "file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := h.run("put", tt.a, tt.b)
			assert.Equal(t, 2, code)
			assert.Equal(t, "", stdout)
			assert.Equal(t, fmt.Sprintf("arvfile put: %s and %s would both be stored as %q: nothing stored; put them one at a time, or put their parent directories\n(run 'arvfile help put' for usage)\n",
				tt.a, tt.b, tt.stored), stderr)
			assert.Empty(t, h.blockFiles(), "nothing stored")
		})
	}
	help, _, code := h.run("put", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, help, "Two PATHs with the same base\nname (x/data y/data) are refused before anything is stored")

	// Their parents keep both.
	pdh := h.put(x, y)
	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code := h.run("get", pdh, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"x/data/f": "x", "y/data/f": "y", "x/file": "1", "y/file": "2"}, readTree(t, dest))
}

func TestItem2GetIsAtomicRefusesExistingTargetsAndStaysInsideDest(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	files := map[string]string{"a": "new a", "d/b": "new b", "d/c": "new c"}
	writeTree(t, src, files)
	pdh := h.put(src)

	t.Run("an existing target stops get before anything is written", func(t *testing.T) {
		dest := t.TempDir()
		writeTree(t, dest, map[string]string{"d/b": "old b"})
		stdout, stderr, code := h.run("get", pdh, dest)
		assert.Equal(t, 1, code)
		assert.Equal(t, "", stdout)
		assert.Equal(t, "arvfile: get: nothing written: 1 files exist already (-f overwrites them, --skip-existing leaves them):\n  "+
			filepath.Join(dest, "d", "b")+"\n", stderr)
		assert.Equal(t, map[string]string{"d/b": "old b"}, readTree(t, dest))
	})
	t.Run("--skip-existing leaves them and gets the rest", func(t *testing.T) {
		dest := t.TempDir()
		writeTree(t, dest, map[string]string{"d/b": "old b"})
		_, stderr, code := h.run("get", "--skip-existing", pdh, dest)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, map[string]string{"a": "new a", "d/b": "old b", "d/c": "new c"}, readTree(t, dest))
	})
	t.Run("-f overwrites them", func(t *testing.T) {
		dest := t.TempDir()
		writeTree(t, dest, map[string]string{"d/b": "old b, longer than the new one"})
		_, stderr, code := h.run("get", pdh, dest, "-f")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, files, readTree(t, dest), "no temporary file is left")
	})
	t.Run("a failed read leaves no partial file, under its name or another", func(t *testing.T) {
		// Damage the block that holds every file: same size, other bytes.
		block := locatorOf("new a" + "new b" + "new c")
		h2 := &harness{t: t, keepDir: t.TempDir(), cacheDir: h.cacheDir}
		pdh2 := h2.put("--no-resume", src)
		require.NoError(t, os.WriteFile(h2.blockPath(block), []byte("NEW A"+"new b"+"new c"), 0o644))
		dest := t.TempDir()
		stdout, stderr, code := h2.run("get", pdh2, dest)
		assert.Equal(t, 1, code)
		assert.Equal(t, "", stdout)
		assert.Contains(t, stderr, "keep: block corrupt")
		assert.Equal(t, map[string]string{}, readTree(t, dest))
	})
	t.Run("an interrupted get leaves no partial file", func(t *testing.T) {
		big := t.TempDir()
		content := strings.Repeat("0123456789abcdef", 8<<20) // 128 MiB
		writeTree(t, big, map[string]string{"big": content})
		pdhBig := h.put(big)
		dest := t.TempDir()
		cmd := h.command("get", "--batch-progress", pdhBig, dest)
		stderr, err := cmd.StderrPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		r := bufio.NewReader(stderr)
		_, err = r.ReadString('\n') // the first progress line: the copy has begun
		require.NoError(t, err)
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		rest, _ := io.ReadAll(r)
		err = cmd.Wait()
		if err == nil { // it finished before the signal arrived: the whole file
			t.Log("get finished before the interrupt arrived")
			assert.Equal(t, map[string]string{"big": content}, readTree(t, dest))
			return
		}
		assert.Equal(t, 130, cmd.ProcessState.ExitCode())
		assert.Contains(t, string(rest), "arvfile: interrupted\n")
		assert.Equal(t, map[string]string{}, readTree(t, dest), "neither the file nor a temporary file")
	})
	t.Run("a symbolic link inside DEST is not written through", func(t *testing.T) {
		dest, outside := t.TempDir(), t.TempDir()
		require.NoError(t, os.Symlink(outside, filepath.Join(dest, "d")))
		_, stderr, code := h.run("get", "-f", pdh, dest)
		assert.Equal(t, 1, code)
		assert.Equal(t, "arvfile: get: nothing written: "+filepath.Join(dest, "d")+" is a symbolic link, and get does not write through links inside DEST\n", stderr)
		assert.Equal(t, map[string]string{}, readTree(t, outside))
		_, err := os.Stat(filepath.Join(dest, "a"))
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("names that would leave DEST are refused", func(t *testing.T) {
		// A manifest written by hand, stored as a block: "./.." is not a
		// name the parser accepts, so get stops before writing anything.
		text := ". " + locatorOf("x") + " 0:1:..\n"
		h3 := newHarness(t)
		writeBlock(t, h3, text)
		writeBlock(t, h3, "x")
		dest := filepath.Join(t.TempDir(), "inner")
		_, stderr, code := h3.run("get", pdhOf(text), dest)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "arvfile: collection "+pdhOf(text)+": manifest line 1")
		_, err := os.Stat(dest)
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

// writeBlock stores data as a block of h's keep directory, by hand.
func writeBlock(t *testing.T, h *harness, data string) {
	l := locatorOf(data)
	require.NoError(t, os.MkdirAll(filepath.Dir(h.blockPath(l)), 0o755))
	require.NoError(t, os.WriteFile(h.blockPath(l), []byte(data), 0o644))
}

func TestItem3UnreadableFilesStopPutUnlessSkipped(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"ok.txt": "fine", "sub/also.txt": "also", "tab\tand\x01ctl": "control"})
	require.NoError(t, os.Symlink("loop", filepath.Join(src, "loop")))             // ELOOP, even for root
	require.NoError(t, os.Symlink("nowhere", filepath.Join(src, "sub", "dangle"))) // ENOENT
	require.NoError(t, syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644))

	stdout, stderr, code := h.run("put", src)
	assert.Equal(t, 1, code)
	assert.Equal(t, "", stdout)
	assert.Equal(t, "arvfile put: leaving out "+filepath.Join(src, "fifo")+": not a regular file or directory\n"+
		"arvfile: put: nothing stored: 2 files or directories cannot be read (--skip-unreadable leaves them out):\n"+
		"  "+filepath.Join(src, "loop")+": too many levels of symbolic links\n"+
		"  "+filepath.Join(src, "sub", "dangle")+": no such file or directory\n", stderr)
	assert.Empty(t, h.blockFiles(), "nothing stored")

	stdout, stderr, code = h.run("put", "--skip-unreadable", src)
	assert.Equal(t, 4, code)
	assert.Equal(t, "arvfile put: leaving out "+filepath.Join(src, "fifo")+": not a regular file or directory\n"+
		"arvfile put: skipped "+filepath.Join(src, "loop")+": too many levels of symbolic links\n"+
		"arvfile put: skipped "+filepath.Join(src, "sub", "dangle")+": no such file or directory\n"+
		"arvfile: put: stored "+lastLine(stdout)+" without 2 unreadable files or directories\n", stderr)
	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code = h.run("get", lastLine(stdout), dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"ok.txt": "fine", "sub/also.txt": "also", "tab\tand\x01ctl": "control"}, readTree(t, dest))
}

// Names that are not UTF-8 are stored byte for byte, listed quoted, and
// written back under the same bytes (issue 11 item 6 too).
func TestItem3NamesThatAreNotUTF8RoundTrip(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	files := map[string]string{"latin1-\xe9t\xe9": "latin-1", "dir\xff/inner": "inner"}
	writeTree(t, src, files)
	pdh := h.put(src)
	stdout, _, code := h.run("manifest", pdh)
	require.Equal(t, 0, code)
	block := locatorOf("inner" + "latin-1")
	assert.Equal(t, ". "+block+" 5:7:latin1-\xe9t\xe9\n./dir\xff "+block+" 0:5:inner\n", stdout)
	stdout, _, code = h.run("ls", pdh)
	assert.Equal(t, 0, code)
	assert.Equal(t, "\"dir\\xff/\"\n\"latin1-\\xe9t\\xe9\"\n", stdout)
	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code := h.run("get", pdh, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, files, readTree(t, dest))
}

func TestItem4SubcommandsHaveFlagsHelpAndExitCodes(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"f": "data"})
	pdh := h.put(src)
	missing := "0123456789abcdef0123456789abcdef+10"

	stdout, stderr, code := h.run("help")
	assert.Equal(t, 0, code)
	assert.Equal(t, "", stderr)
	assert.Equal(t, mainUsage(), stdout)
	for _, c := range []string{"cat", "fsck", "gc", "get", "ls", "manifest", "put", "serve", "help"} {
		assert.Contains(t, stdout, "\n  "+c+" ")
	}
	assert.Contains(t, stdout, exitCodesHelp)
	for _, c := range []string{"put", "get", "ls"} {
		byHelp, _, code1 := h.run("help", c)
		byFlag, _, code2 := h.run(c, "--help")
		assert.Equal(t, 0, code1)
		assert.Equal(t, 0, code2)
		assert.Equal(t, byHelp, byFlag)
		assert.True(t, strings.HasPrefix(byHelp, "usage: arvfile "+c+" [FLAGS] "), byHelp)
	}

	// Flags before or after the command and its arguments.
	for _, args := range [][]string{{"ls", "-s", pdh}, {"ls", pdh, "-s"}, {"-keep", h.keepDir, "ls", pdh, "-s"}} {
		stdout, stderr, code = h.run(args...)
		assert.Equal(t, 0, code, stderr)
		assert.Equal(t, "         1 f\n", stdout, args)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"a missing collection", []string{"ls", missing}, 3,
			"arvfile: collection " + missing + ": keep: block not found: " + missing + "\n"},
		{"a missing path in a collection", []string{"cat", pdh + "/nope"}, 3, "arvfile: open nope: file does not exist\n"},
		{"a missing directory to put", []string{"put", filepath.Join(src, "nope")}, 3,
			"arvfile: stat " + filepath.Join(src, "nope") + ": no such file or directory\n"},
		{"an unknown command", []string{"frobnicate"}, 2, "arvfile: unknown command \"frobnicate\"\n(run 'arvfile help' for usage)\n"},
		{"a missing argument", []string{"ls"}, 2, "arvfile ls: wrong number of arguments: want REF[/PATH]\n(run 'arvfile help ls' for usage)\n"},
		{"no command", nil, 2, "arvfile: no command\n(run 'arvfile help' for usage)\n"},
		{"a bad flag", []string{"ls", "--nope", pdh}, 2, "arvfile ls: flag provided but not defined: -nope\n(run 'arvfile help ls' for usage)\n"},
		{"not a reference", []string{"cat", "abc/x"}, 2,
			"arvfile cat: \"abc\" is not a portable data hash, a locator or the name of a collection (invalid locator \"abc\": hash \"abc\" is not 32 lower-case hex digits)\n(run 'arvfile help cat' for usage)\n"},
		{"a name with a slash", []string{"put", "--name", "a/b", src}, 2,
			"arvfile put: --name \"a/b\": a name cannot hold \"/\", a tab or a newline, nor be a locator\n(run 'arvfile help put' for usage)\n"},
		{"an existing target", []string{"get", pdh + "/f", filepath.Join(src, "f")}, 1,
			"arvfile: get: nothing written: 1 files exist already (-f overwrites them, --skip-existing leaves them):\n  " + filepath.Join(src, "f") + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := h.run(tt.args...)
			assert.Equal(t, "", stdout)
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantStderr, stderr)
		})
	}
	// 4, partial, is TestItem3's --skip-unreadable and TestItem10's fsck.
}

func TestItem5PutOptions(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"keep.txt": "k", "skip.o": "o", "sub/keep.go": "g", "sub/skip.txt": "s", "other/skip.txt": "t", "build/x": "x"})
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"target.txt": "linked file", "tdir/inside": "linked dir"})
	require.NoError(t, os.Symlink(filepath.Join(outside, "target.txt"), filepath.Join(src, "link.txt")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "tdir"), filepath.Join(src, "linkdir")))

	t.Run("--exclude by base name and by path; links are followed", func(t *testing.T) {
		res := h.putJSON("--exclude", "*.o", "--exclude", "sub/*.txt", "--exclude", "build", src)
		dest := filepath.Join(t.TempDir(), "out")
		_, stderr, code := h.run("get", res.Locator, dest)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, map[string]string{"keep.txt": "k", "sub/keep.go": "g", "other/skip.txt": "t",
			"link.txt": "linked file", "linkdir/inside": "linked dir"}, readTree(t, dest))
	})
	t.Run("--follow-links=false leaves links out", func(t *testing.T) {
		stdout, stderr, code := h.run("put", "--follow-links=false", "--exclude", "*.o", src)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "arvfile put: leaving out "+filepath.Join(src, "link.txt")+": not a regular file or directory\n"+
			"arvfile put: leaving out "+filepath.Join(src, "linkdir")+": not a regular file or directory\n", stderr)
		ls, _, _ := h.run("ls", lastLine(stdout))
		assert.Equal(t, "build/\nkeep.txt\nother/\nsub/\n", ls)
	})
	t.Run("standard input with --filename, --name, --json", func(t *testing.T) {
		stdout, stderr, code := h.runIn("from stdin\n", "put", "--json", "--name", "my stdin", "--filename", "dir/in.txt", "-")
		require.Equal(t, 0, code, stderr)
		manifest := "./dir " + locatorOf("from stdin\n") + " 0:11:in.txt\n"
		assert.Equal(t, fmt.Sprintf(`{"portable_data_hash":%q,"locator":%q,"name":"my stdin","files":1,"bytes":11,"uploaded_files":1,"uploaded_bytes":11,"reused_files":0,"reused_bytes":0,"skipped":[]}`+"\n",
			pdhOf(manifest), pdhOf(manifest)), stdout)
		out, _, code := h.run("cat", "my stdin/dir/in.txt")
		assert.Equal(t, 0, code)
		assert.Equal(t, "from stdin\n", out)
	})
	t.Run("--batch-progress writes machine-readable lines", func(t *testing.T) {
		tree := t.TempDir()
		writeTree(t, tree, map[string]string{"a": "12345", "b": "678"})
		_, stderr, code := h.run("put", "--no-resume", "--batch-progress", tree)
		require.Equal(t, 0, code)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		require.GreaterOrEqual(t, len(lines), 3, stderr)
		assert.Regexp(t, `^arvfile put: bytes=5 total=8 files=0 nfiles=2 rate=\d+ eta=-?\d+$`, lines[0])
		assert.Equal(t, "arvfile put: checkpoint files=2 bytes=8", lines[len(lines)-2])
		assert.Regexp(t, `^arvfile put: bytes=8 total=8 files=2 nfiles=2 rate=\d+ eta=0$`, lines[len(lines)-1])
		_, stderr, code = h.run("put", "--no-progress", tree)
		assert.Equal(t, 0, code)
		assert.Equal(t, "", stderr)
	})
	t.Run("--dry-run and resume", func(t *testing.T) {
		h := newHarness(t)
		tree := t.TempDir()
		writeTree(t, tree, map[string]string{"a": "aaa", "b/c": "ccc", "big": strings.Repeat("z", 1<<20)})
		_, stderr, code := h.run("put", "--dry-run", tree)
		assert.Equal(t, 2, code)
		assert.Equal(t, "arvfile: put --dry-run: 3 of 3 files (1048582 bytes) would be uploaded\n", stderr)
		assert.Empty(t, mustList(t, h), "--dry-run stores nothing")

		first := h.putJSON(tree)
		assert.Equal(t, 3, first.UploadedFiles)
		assert.Equal(t, int64(1048582), first.UploadedBytes)

		_, stderr, code = h.run("put", "--dry-run", tree)
		assert.Equal(t, 0, code)
		assert.Equal(t, "arvfile put --dry-run: nothing to upload (3 files in the resume cache)\n", stderr)
		again := h.putJSON(tree)
		assert.Equal(t, first.Locator, again.Locator)
		assert.Equal(t, 0, again.UploadedFiles)
		assert.Equal(t, int64(0), again.UploadedBytes, "nothing is read again")
		assert.Equal(t, 3, again.ReusedFiles)
		assert.Equal(t, int64(1048582), again.ReusedBytes)

		// A changed file is read again; a file whose block is gone too.
		require.NoError(t, os.WriteFile(filepath.Join(tree, "a"), []byte("AAAA"), 0o644))
		require.NoError(t, os.Remove(h.blockPath(locatorOf("aaa"+"ccc"+strings.Repeat("z", 1<<20)))))
		third := h.putJSON(tree)
		assert.Equal(t, 3, third.UploadedFiles, "a changed, and the block of the other two is gone")
		fourth := h.putJSON(tree)
		assert.Equal(t, 0, fourth.UploadedFiles)
		dest := filepath.Join(t.TempDir(), "out")
		_, stderr, code = h.run("get", fourth.Locator, dest)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, map[string]string{"a": "AAAA", "b/c": "ccc", "big": strings.Repeat("z", 1<<20)}, readTree(t, dest))
	})
	t.Run("an interrupted put resumes from its last checkpoint", func(t *testing.T) {
		tree := t.TempDir()
		files := map[string]string{}
		for i := 0; i < 64; i++ {
			files[fmt.Sprintf("f%02d", i)] = strings.Repeat(string(rune('a'+i%26)), 1<<20)
		}
		writeTree(t, tree, files)
		cmd := h.command("put", "--batch-progress", "--checkpoint", "1", tree)
		stderr, err := cmd.StderrPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := bufio.NewScanner(stderr)
		for lines.Scan() && !strings.Contains(lines.Text(), "checkpoint") {
		}
		cmd.Process.Kill() // it may have finished already: then everything is reused
		go io.Copy(io.Discard, stderr)
		cmd.Wait()

		res := h.putJSON(tree)
		assert.Greater(t, res.ReusedFiles, 0, "the checkpointed files are not read again")
		assert.Equal(t, 64, res.ReusedFiles+res.UploadedFiles)
		dest := filepath.Join(t.TempDir(), "out")
		_, errText, code := h.run("get", res.Locator, dest)
		require.Equal(t, 0, code, errText)
		assert.Equal(t, files, readTree(t, dest))
	})
}

// mustList returns the lines of h's collection list.
func mustList(t *testing.T, h *harness) []string {
	b, err := os.ReadFile(filepath.Join(h.keepDir, collectionListName))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestItem6GetOptions(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	files := map[string]string{"a.txt": "alpha\n", "d/b.bin": strings.Repeat("b", 3000)}
	writeTree(t, src, files)
	pdh := h.put(src)
	sums := fmt.Sprintf("%x  a.txt\n%x  d/b.bin\n", md5.Sum([]byte(files["a.txt"])), md5.Sum([]byte(files["d/b.bin"])))

	dest := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := h.run("get", "--md5sum", pdh, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, sums, stdout)
	assert.Equal(t, files, readTree(t, dest))

	stdout, stderr, code = h.run("get", "-n", "--md5sum", pdh)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, sums, stdout, "-n reads and verifies everything")
	none := filepath.Join(t.TempDir(), "none")
	_, _, code = h.run("get", "-n", pdh, none)
	assert.Equal(t, 0, code)
	_, err := os.Stat(none)
	assert.ErrorIs(t, err, os.ErrNotExist, "-n writes nothing")

	stdout, stderr, code = h.run("get", "--md5sum", pdh+"/d/b.bin", "-")
	require.Equal(t, 0, code)
	assert.Equal(t, files["d/b.bin"], stdout)
	assert.Equal(t, fmt.Sprintf("%x  b.bin\n", md5.Sum([]byte(files["d/b.bin"]))), stderr)

	_, stderr, code = h.run("get", "--progress", pdh, filepath.Join(t.TempDir(), "p"))
	require.Equal(t, 0, code)
	assert.Regexp(t, `^\r\[#* *\] +\d+\.\d% .*\r\[####################\] 100\.0% 2\.9 KiB/2\.9 KiB .* ETA 0:00 2/2 files\x1b\[K\n$`, stderr)
	_, stderr, code = h.run("get", "--batch-progress", pdh, filepath.Join(t.TempDir(), "q"))
	require.Equal(t, 0, code)
	assert.Regexp(t, `arvfile get: bytes=3006 total=3006 files=2 nfiles=2 rate=\d+ eta=0\n$`, stderr)
}

func TestItem7LsRecursiveSizesAndQuotedNames(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a": strings.Repeat("a", 1025), "d/e/f": "", "d/g": "g", "new\nline": "n", "\"quoted": "q", "empty/": ""})
	pdh := h.put(src)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ls", pdh}, "\"\\\"quoted\"\na\nd/\nempty/\n\"new\\nline\"\n"},
		{[]string{"ls", "-r", pdh}, "\"\\\"quoted\"\na\nd/\nd/e/\nd/e/f\nd/g\nempty/\n\"new\\nline\"\n"},
		{[]string{"ls", "-r", "-s", pdh + "/d"}, "         - e/\n         0 e/f\n         1 g\n"},
		{[]string{"ls", "-s", pdh}, "         1 \"\\\"quoted\"\n         2 a\n         - d/\n         - empty/\n         1 \"new\\nline\"\n"},
	}
	for _, tt := range tests {
		stdout, stderr, code := h.run(tt.args...)
		assert.Equal(t, 0, code, stderr)
		assert.Equal(t, tt.want, stdout, tt.args)
	}
}

func TestItem8PutAndGetShowProgress(t *testing.T) {
	// The display itself (rate, percentage, ETA on a fake clock) is
	// TestProgressShowsRatePercentageAndETA; here both commands draw it.
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a": strings.Repeat("x", 2<<20)})
	stdout, stderr, code := h.run("put", "--progress", src)
	require.Equal(t, 0, code)
	assert.Regexp(t, `\r\[####################\] 100\.0% 2\.0 MiB/2\.0 MiB [0-9.]+ [KMG]?i?B/s ETA 0:00 1/1 files\x1b\[K\n$`, stderr)
	_, stderr, code = h.run("get", "--progress", lastLine(stdout), filepath.Join(t.TempDir(), "o"))
	require.Equal(t, 0, code)
	assert.Regexp(t, `\r\[####################\] 100\.0% 2\.0 MiB/2\.0 MiB [0-9.]+ [KMG]?i?B/s ETA 0:00 1/1 files\x1b\[K\n$`, stderr)
}

func TestItem9ServeServesACollectionOverHTTP(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"hello.txt": "hello, world\n", "d/page.html": "<p>hi</p>", "d/data.json": `{"a":1}`})
	pdh := h.put(src)
	cmd := h.command("serve", "--addr", "127.0.0.1:0", pdh)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewReader(stderr)
	first, err := lines.ReadString('\n')
	require.NoError(t, err)
	prefix := "serving " + pdh + " on "
	require.True(t, strings.HasPrefix(first, prefix), first)
	base := strings.TrimSpace(strings.TrimPrefix(first, prefix))

	get := func(path, rangeHeader string) (*http.Response, string) {
		req, err := http.NewRequest("GET", base+path, nil)
		require.NoError(t, err)
		if rangeHeader != "" {
			req.Header.Set("Range", rangeHeader)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, body := get("hello.txt", "")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "hello, world\n", body)
	resp, body = get("hello.txt", "bytes=7-11")
	assert.Equal(t, 206, resp.StatusCode)
	assert.Equal(t, "bytes 7-11/13", resp.Header.Get("Content-Range"))
	assert.Equal(t, "world", body)
	resp, body = get("d/data.json", "")
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, `{"a":1}`, body)
	resp, body = get("d/", "")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n<a href=\"data.json\">data.json</a>\n<a href=\"page.html\">page.html</a>\n</pre>\n", body)
	resp, _ = get("nope", "")
	assert.Equal(t, 404, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, _ := io.ReadAll(lines)
	assert.Equal(t, "arvfile serve: stopped\n", string(rest))
	require.NoError(t, cmd.Wait(), "a stopped server exits 0")
}

func TestItem10FsckAndGcMaintainAKeepDirectory(t *testing.T) {
	h := newHarness(t)
	src1, src2 := t.TempDir(), t.TempDir()
	writeTree(t, src1, map[string]string{"one": "first collection"})
	writeTree(t, src2, map[string]string{"two": "second collection"})
	pdh1, pdh2 := h.put(src1), h.put(src2)
	block1, block2 := locatorOf("first collection"), locatorOf("second collection")

	stdout, stderr, code := h.run("fsck")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "4 blocks checked: 0 damaged, 0 missing\n", stdout)

	// A damaged block, and a missing one.
	require.NoError(t, os.WriteFile(h.blockPath(block1), []byte("FIRST collection"), 0o644))
	stdout, stderr, code = h.run("fsck")
	assert.Equal(t, 4, code)
	assert.Equal(t, "damaged "+block1+": keep: block corrupt: "+block1+": content has md5 "+fmt.Sprintf("%x", md5.Sum([]byte("FIRST collection")))+"\n4 blocks checked: 1 damaged, 0 missing\n", stdout)
	assert.Equal(t, "arvfile: fsck: 1 damaged and 0 missing blocks\n", stderr)
	require.NoError(t, os.Remove(h.blockPath(block2)))
	stdout, _, code = h.run("fsck", pdh2)
	assert.Equal(t, 4, code)
	assert.Equal(t, "missing "+block2+"\n2 blocks checked: 0 damaged, 1 missing\n", stdout)
	require.NoError(t, os.WriteFile(h.blockPath(block1), []byte("first collection"), 0o644))
	writeBlock(t, h, "second collection")

	// gc: forget the second collection; an unreferenced block and stale
	// temporary files go, after a dry run.
	writeBlock(t, h, "orphan")
	stale := filepath.Join(h.keepDir, block1[:3], block1[:32]+".tmp-123")
	fresh := filepath.Join(h.keepDir, block1[:3], block1[:32]+".tmp-456")
	require.NoError(t, os.WriteFile(stale, []byte("half"), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte("half"), 0o600))
	// Opening the store sweeps temporary files over keep.StaleTempAge old
	// by itself; gc --temp-age reaches younger ones.
	old := time.Now().Add(-keep.StaleTempAge / 2)
	require.NoError(t, os.Chtimes(stale, old, old))
	list := mustList(t, h)
	require.Len(t, list, 2)
	require.NoError(t, os.WriteFile(filepath.Join(h.keepDir, collectionListName), []byte(list[0]+"\n"), 0o644))

	removed := []string{locatorOf("orphan"), block2, pdh2}
	sortStrings(removed)
	want := ""
	for _, l := range removed {
		want += "would remove block " + l + "\n"
	}
	want += "would remove temporary file " + stale + "\n"
	want += fmt.Sprintf("would remove 4 files, %d bytes; 2 blocks kept for 1 listed collections\n", 6+17+int(mustSize(pdh2))+4)
	stdout, stderr, code = h.run("gc", "--temp-age", (keep.StaleTempAge / 4).String())
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, want, stdout)
	assert.Len(t, h.blockFiles(), 7, "a dry run removes nothing")
	stdout, stderr, code = h.run("gc", "--delete", "--temp-age", (keep.StaleTempAge / 4).String())
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, strings.ReplaceAll(want, "would remove", "removed"), stdout)
	assert.ElementsMatch(t, []string{h.blockPath(block1), h.blockPath(pdh1), fresh}, h.blockFiles())
	out, _, code := h.run("cat", pdh1+"/one")
	assert.Equal(t, 0, code)
	assert.Equal(t, "first collection", out)
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func mustSize(locator string) int64 {
	var size int64
	fmt.Sscanf(locator[33:], "%d", &size)
	return size
}

func TestItem11StoreSelection(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"f": "data"})
	want := pdhOf(". " + locatorOf("data") + " 0:4:f\n")
	storeDir, keepDir := t.TempDir(), t.TempDir()
	tests := []struct {
		name       string
		args, env  []string
		wantCode   int
		wantStderr string
		wantIn     string
	}{
		{"ARVFILE_STORE names a directory", []string{"put", src}, []string{"ARVFILE_STORE=" + storeDir}, 0, "", storeDir},
		{"--store names a directory", []string{"put", "--store", storeDir, src}, nil, 0, "", storeDir},
		{"--keep wins over --store", []string{"put", "--store", storeDir, "--keep", keepDir, src}, nil, 0, "", keepDir},
		{"keep: needs ARVADOS_API_TOKEN", []string{"put", "--store", "keep:", src}, []string{"ARVADOS_API_TOKEN=", "ARVADOS_KEEP_SERVICES=http://127.0.0.1:1"}, 1,
			"arvfile: store \"keep:\": keep: ARVADOS_API_TOKEN is not set\n", ""},
		{"keep:FILE needs a readable service list", []string{"put", "--store", "keep:" + filepath.Join(storeDir, "missing.json"), src}, []string{"ARVADOS_API_TOKEN=t"}, 3,
			"arvfile: store \"keep:" + filepath.Join(storeDir, "missing.json") + "\": open " + filepath.Join(storeDir, "missing.json") + ": no such file or directory\n", ""},
		{"an s3:// store takes no path", []string{"put", src}, []string{"ARVFILE_STORE=s3://bucket/prefix"}, 2,
			"arvfile: store \"s3://bucket/prefix\": keep: s3 URL \"s3://bucket/prefix\": path \"/prefix\": blocks are stored at the top of the bucket, as keepstore stores them; give no path\n(run 'arvfile help' for usage)\n", ""},
		{"an unknown scheme", []string{"put", "--store", "ftp://x", src}, nil, 2,
			"arvfile: store \"ftp://x\": unknown scheme; want a directory, keep: or s3://BUCKET\n(run 'arvfile help' for usage)\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "ARVFILE_STORE="), tt.env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantStderr, stderr.String())
			if tt.wantIn != "" {
				assert.Equal(t, want+"\n", stdout.String())
				_, err := os.Stat(filepath.Join(tt.wantIn, want[:3], want[:32]))
				assert.NoError(t, err)
			}
		})
	}
	help, _, _ := newHarness(t).run("help", "put")
	assert.Contains(t, help, storeHelp)
}

// TestItem12BlockFilesAreReadableByOthers needs keep/dirstore.go to create
// block files 0644 (issue 11i).
func TestItem12BlockFilesAreReadableByOthers(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"f": "data"})
	h.put(src)
	files := h.blockFiles()
	require.Len(t, files, 2)
	for _, f := range files {
		info, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), f)
		dir, err := os.Stat(filepath.Dir(f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), dir.Mode().Perm(), filepath.Dir(f))
	}
}

// A directory reached through several symbolic links is stored once: a tree
// of links to shared directories no longer multiplies (a put of / once
// planned 15 GB of paths).
func TestItem5FollowLinksStoresEachDirectoryOnce(t *testing.T) {
	t.Run("links to a shared directory and a loop", func(t *testing.T) {
		h := newHarness(t)
		src := t.TempDir()
		writeTree(t, src, map[string]string{"shared/f": "shared file", "top.txt": "top"})
		require.NoError(t, os.Symlink("shared", filepath.Join(src, "a")))
		require.NoError(t, os.Symlink(filepath.Join(src, "shared"), filepath.Join(src, "b")))
		require.NoError(t, os.Symlink("..", filepath.Join(src, "shared", "up")))
		stdout, stderr, code := h.run("put", "--skip-unreadable", src)
		assert.Equal(t, 4, code)
		assert.Equal(t, "arvfile put: leaving out "+filepath.Join(src, "b")+": the same directory is stored as a\n"+
			"arvfile put: leaving out "+filepath.Join(src, "shared")+": the same directory is stored as a\n"+
			"arvfile put: skipped "+filepath.Join(src, "a", "up")+": a symbolic link loop\n"+
			"arvfile: put: stored "+lastLine(stdout)+" without 1 unreadable files or directories\n", stderr)
		ls, _, code := h.run("ls", "-r", lastLine(stdout))
		require.Equal(t, 0, code)
		assert.Equal(t, "a/\na/f\ntop.txt\n", ls)
	})
	t.Run("a link to a directory already stored under its own name is left out", func(t *testing.T) {
		h := newHarness(t)
		src := t.TempDir()
		writeTree(t, src, map[string]string{"sub/f": "f"})
		require.NoError(t, os.Symlink(filepath.Join(src, "sub"), filepath.Join(src, "sub2")))
		stdout, stderr, code := h.run("put", src)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "arvfile put: leaving out "+filepath.Join(src, "sub2")+": the same directory is stored as sub\n", stderr)
		ls, _, _ := h.run("ls", "-r", lastLine(stdout))
		assert.Equal(t, "sub/\nsub/f\n", ls)
	})
	t.Run("a PATH inside another PATH is stored whole under its own name", func(t *testing.T) {
		h := newHarness(t)
		src := t.TempDir()
		writeTree(t, src, map[string]string{"sub/f": "f", "g": "g"})
		stdout, stderr, code := h.run("put", src, filepath.Join(src, "sub"))
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "", stderr)
		ls, _, _ := h.run("ls", "-r", lastLine(stdout))
		base := filepath.Base(src)
		assert.Equal(t, base+"/\n"+base+"/g\n"+base+"/sub/\n"+base+"/sub/f\nsub/\nsub/f\n", ls)
	})
	t.Run("twenty levels of two links each store each level once", func(t *testing.T) {
		// Without a set of walked directories this tree holds 2^20 paths.
		h := newHarness(t)
		src := t.TempDir()
		const levels = 20
		for i := 0; i < levels; i++ {
			dir := filepath.Join(src, fmt.Sprintf("l%02d", i))
			require.NoError(t, os.MkdirAll(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte(strconv.Itoa(i)), 0o644))
			if i+1 < levels {
				next := filepath.Join(src, fmt.Sprintf("l%02d", i+1))
				require.NoError(t, os.Symlink(next, filepath.Join(dir, "x")))
				require.NoError(t, os.Symlink(next, filepath.Join(dir, "y")))
			}
		}
		stdout, stderr, code := h.run("put", "--json", "--no-progress", src)
		require.Equal(t, 0, code, stderr)
		var res putResult
		require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
		assert.Equal(t, levels, res.Files)
		assert.Equal(t, 2*(levels-1), strings.Count(stderr, ": the same directory is stored as "), stderr)
	})
}

// A file reached by several paths (a hard link, a symbolic link followed) is
// read and hashed once; every path is stored, with the same segments.
func TestItem5AFileReachedBySeveralPathsIsReadOnce(t *testing.T) {
	h := newHarness(t)
	src := t.TempDir()
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	writeTree(t, src, map[string]string{"big": big, "other": "x"})
	require.NoError(t, os.Link(filepath.Join(src, "big"), filepath.Join(src, "hard")))
	require.NoError(t, os.Symlink("big", filepath.Join(src, "soft")))

	first := h.putJSON("--no-progress", src)
	assert.Equal(t, 4, first.Files)
	assert.Equal(t, 2, first.UploadedFiles, "big (or one of its links) and other")
	assert.Equal(t, int64(len(big)+1), first.UploadedBytes)
	assert.Equal(t, 2, first.ReusedFiles)
	assert.Equal(t, int64(2*len(big)), first.ReusedBytes)
	manifest, _, code := h.run("manifest", first.Locator)
	require.Equal(t, 0, code)
	block := locatorOf(big + "x")
	assert.Equal(t, ". "+block+" 0:1048576:big 0:1048576:hard 1048576:1:other 0:1048576:soft\n", manifest)

	again := h.putJSON("--no-progress", src)
	assert.Equal(t, first.Locator, again.Locator)
	assert.Equal(t, 0, again.UploadedFiles, "every path is in the resume cache")
	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code := h.run("get", first.Locator, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]string{"big": big, "hard": big, "soft": big, "other": "x"}, readTree(t, dest))
}
