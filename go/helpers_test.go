package mba

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The repository root (this package lives in go/) and the library.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func libDir(t *testing.T) string {
	if l := os.Getenv("MBA_LIBRARY"); l != "" {
		return filepath.Dir(l)
	}
	return filepath.Join(repoRoot(t), "target", "release")
}

var (
	cOnce sync.Once
	cBin  string
	cErr  error
)

// cProgram builds xlang/c/mbax.c (the suite's C program: create, append,
// read, wait) once per test run.
func cProgram(t *testing.T) string {
	cOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mba-go-test-")
		if err != nil {
			cErr = err
			return
		}
		cBin = filepath.Join(dir, "mbax-c")
		root := repoRoot(t)
		cc := os.Getenv("CC")
		if cc == "" {
			cc = "cc"
		}
		out, err := exec.Command(cc, "-std=c11", "-Wall", "-Werror", "-I"+filepath.Join(root, "include"),
			filepath.Join(root, "xlang", "c", "mbax.c"), "-L"+libDir(t), "-lmba",
			"-Wl,-rpath,"+libDir(t), "-o", cBin).CombinedOutput()
		if err != nil {
			cErr = fmt.Errorf("building mbax.c: %v\n%s", err, out)
		}
	})
	if cErr != nil {
		t.Fatal(cErr)
	}
	return cBin
}

// python runs xlang/python/mbax.py with the mba package of the source tree
// (or the installed one) and the library under test.
func python(t *testing.T, args ...string) string {
	root := repoRoot(t)
	py := os.Getenv("MBA_PYTHON")
	if py == "" {
		py = "python3"
	}
	cmd := exec.Command(py, append([]string{filepath.Join(root, "xlang", "python", "mbax.py")}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "examples-python"),
		"MBA_LIBRARY="+filepath.Join(libDir(t), "libmba.so"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %v: %v\n%s", args, err, stderrOf(err))
	}
	return string(out)
}

func runC(t *testing.T, args ...string) string {
	out, err := exec.Command(cProgram(t), args...).Output()
	if err != nil {
		t.Fatalf("mbax-c %v: %v\n%s", args, err, stderrOf(err))
	}
	return string(out)
}

func stderrOf(err error) string {
	if e, ok := err.(*exec.ExitError); ok {
		return string(e.Stderr)
	}
	return ""
}

// name is a fresh shm:// name for the test, removed at its end.
func name(t *testing.T) string {
	n := fmt.Sprintf("shm://mba-go-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	_ = Remove(n)
	t.Cleanup(func() { _ = Remove(n) })
	return n
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func ints(t *testing.T, s string) []int64 {
	var vs []int64
	for _, l := range lines(s) {
		v, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", l)
		}
		vs = append(vs, v)
	}
	return vs
}
