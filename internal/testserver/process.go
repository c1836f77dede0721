package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is a test server's running process, whose output goes to a log.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process exited and its log is closed
}

// startProcess runs bin with args and env (added to this process's
// environment) in its own process group, its output appended to logPath.
func startProcess(bin string, args, env []string, logPath string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls ready every 50 ms until it reports true, the process
// exits, or timeout passes; the errors name what (e.g. "keepstore 2") and
// quote the end of the log.
func (p *process) waitReady(ready func() bool, timeout time.Duration, what, logPath string) error {
	deadline := time.Now().Add(timeout)
	for !ready() {
		select {
		case <-p.done:
			return fmt.Errorf("testserver: %s exited before it was ready:\n%s", what, tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testserver: %s not ready after %v:\n%s", what, timeout, tail(logPath))
		}
	}
	return nil
}

// kill ends the process at once (SIGKILL), as a crash would, and waits for
// it to exit.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop asks the process to end (SIGTERM), kills it after grace, and waits
// for it to exit.
func (p *process) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// pid returns the process id, 0 for no process.
func (p *process) pid() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
