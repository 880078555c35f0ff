package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/driver/dockerdriver"
	"github.com/ecsd/ecsd/internal/driver/dockerdriver/dockertest"
)

// ECS Exec end to end: the official AWS CLI (aws ecs execute-command)
// with the real session-manager-plugin, built from the Go module proxy,
// against ecsd on the Docker runtime.

// smpVersion is the session-manager-plugin (1.3.0.0) the tests build.
const smpVersion = "v0.0.0-20260401221635-b79d06c1d3a2"

var smp struct {
	once sync.Once
	dir  string
	err  error
}

// sessionManagerPlugin returns a directory holding session-manager-plugin,
// for PATH. It is built once into the user cache directory
// ($XDG_CACHE_HOME/ecsd-test/session-manager-plugin-VERSION) and reused.
// The plugin's module has no go.mod, so a throwaway module requires it
// with the uuid version it was written against and lets go mod tidy find
// the rest.
func sessionManagerPlugin(t *testing.T) string {
	t.Helper()
	smp.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		smp.dir, smp.err = buildPlugin(ctx)
	})
	if smp.err != nil {
		t.Fatalf("building session-manager-plugin: %v", smp.err)
	}
	return smp.dir
}

func buildPlugin(ctx context.Context) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ecsd-test", "session-manager-plugin-"+smpVersion)
	bin := filepath.Join(dir, "session-manager-plugin")
	if fi, err := os.Stat(bin); err == nil && fi.Mode()&0o111 != 0 {
		return dir, nil
	}
	mod, err := os.MkdirTemp("", "ecsd-smp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(mod)
	files := map[string]string{
		"go.mod": "module smpbuild\n\ngo 1.24\n",
		// Blank imports of the plugin's packages, so go mod tidy resolves
		// what its main package needs.
		"tools.go": "package tools\n\nimport (\n" +
			"\t_ \"github.com/aws/session-manager-plugin/src/sessionmanagerplugin/session\"\n" +
			"\t_ \"github.com/aws/session-manager-plugin/src/sessionmanagerplugin/session/portsession\"\n" +
			"\t_ \"github.com/aws/session-manager-plugin/src/sessionmanagerplugin/session/shellsession\"\n)\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".session-manager-plugin-%d", os.Getpid()))
	for _, args := range [][]string{
		{"mod", "edit", "-require=github.com/aws/session-manager-plugin@" + smpVersion,
			"-require=github.com/twinj/uuid@v0.0.0-20151029044442-89173bcdda19"},
		{"mod", "tidy"},
		{"build", "-o", tmp, "github.com/aws/session-manager-plugin/src/sessionmanagerplugin-main"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Renamed into place, so a concurrent build never shows a half
	// written binary.
	return dir, os.Rename(tmp, bin)
}

var shellImg struct {
	once sync.Once
	tag  string
	err  error
}

// shellImage is the test image with a shell (dockertest.ShellImage), or a
// skip where the host has none to lend.
func shellImage(t *testing.T) string {
	t.Helper()
	cli, _ := docker(t)
	shellImg.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shellImg.tag, shellImg.err = dockertest.ShellImage(ctx, cli, "../driver/dockerdriver/testdata/tiny", dockerdriver.ImportImage)
	})
	if errors.Is(shellImg.err, dockertest.ErrNoHostShell) {
		t.Skipf("no image with a shell: %v", shellImg.err)
	}
	if shellImg.err != nil {
		t.Fatalf("building the shell image: %v", shellImg.err)
	}
	return shellImg.tag
}

// awsEnv is the environment of an AWS CLI run against ecsd: no profile or
// config of the machine, test credentials, the plugin on PATH.
func awsEnv(pluginDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID="+defaultKey, "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION="+defaultRegion,
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
}

// execTask runs a task with enableExecuteCommand (unless off) whose
// containers "app" (with a shell) and "side" run, and waits until the
// agents of both report RUNNING.
func execTask(t *testing.T, e *ecsd, enable bool) types.Task {
	t.Helper()
	img := shellImage(t)
	c := e.defaultClient()
	family := fmt.Sprintf("exec-%d", time.Now().UnixNano())
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String(img), Memory: aws.Int32(64), Essential: aws.Bool(true),
				User: aws.String("4321")},
			{Name: aws.String("side"), Image: aws.String(img), Memory: aws.Int32(32), Essential: aws.Bool(false)},
		},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(family), EnableExecuteCommand: enable})
	if err != nil {
		t.Fatal(err)
	}
	arn := *out.Tasks[0].TaskArn
	var task types.Task
	waitFor(t, 2*time.Minute, "the task and its agents run", func() error {
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			return err
		}
		task = d.Tasks[0]
		if *task.LastStatus != "RUNNING" {
			return fmt.Errorf("task is %s", *task.LastStatus)
		}
		for _, ctr := range task.Containers {
			if !enable {
				if len(ctr.ManagedAgents) != 0 {
					return fmt.Errorf("a task without execute command reports agents %+v", ctr.ManagedAgents)
				}
				continue
			}
			if len(ctr.ManagedAgents) != 1 || ctr.ManagedAgents[0].Name != types.ManagedAgentNameExecuteCommandAgent ||
				aws.ToString(ctr.ManagedAgents[0].LastStatus) != "RUNNING" || ctr.ManagedAgents[0].LastStartedAt == nil {
				return fmt.Errorf("%s agents %+v", *ctr.Name, ctr.ManagedAgents)
			}
		}
		return nil
	})
	return task
}

// cliCommand is `aws ecs execute-command` on a task of e.
func cliCommand(ctx context.Context, e *ecsd, pluginDir, taskARN string, extra ...string) *exec.Cmd {
	args := append([]string{"--endpoint-url", e.URL(), "ecs", "execute-command", "--cluster", "default",
		"--task", taskARN}, extra...)
	cmd := exec.CommandContext(ctx, "aws", args...)
	cmd.Env = awsEnv(pluginDir)
	// Its own process group, so a test can end the CLI and its plugin
	// together, as a closed terminal would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

var sessionLine = regexp.MustCompile(`Starting session with SessionId: (ecs-execute-command-0[0-9a-f]{16})`)

// TestExecuteCommandNoTerminal: the CLI and plugin driven without a
// terminal (stdin a pipe, as in CI jobs) run a command and print its
// output; the CLI exits 0 whatever the command's status, as the plugin
// does on AWS.
func TestExecuteCommandNoTerminal(t *testing.T) {
	t.Parallel()
	e, _ := dockerServer(t, "")
	plugin := sessionManagerPlugin(t)
	task := execTask(t, e, true)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := cliCommand(ctx, e, plugin, *task.TaskArn, "--container", "app", "--interactive",
		"--command", `sh -c 'echo "user=$(while read k v; do [ "$k" = Uid: ] && echo $v; done < /proc/self/status)"; echo TERM=$TERM LANG=$LANG; echo $((6*7)); exit 3'`)
	stdin, err := cmd.StdinPipe() // kept open: at end of input the plugin stops reading and exits
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws ecs execute-command: %v\nstdout: %s\nstderr: %s", err, out.String(), errOut.String())
	}
	got := out.String()
	m := sessionLine.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no session started:\n%s\nstderr: %s", got, errOut.String())
	}
	for _, want := range []string{
		"user=0 0 0 0", // root, whatever the container's user (4321)
		"TERM=xterm-256color LANG=C.UTF-8\r\n",
		"42\r\n", // a terminal: CRLF
		"Exiting session with sessionId: " + m[1] + ".",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "42") > strings.Index(got, "Exiting session") {
		t.Errorf("the command's output came after the session ended:\n%s", got)
	}
}

// tmuxSession runs argv in a detached tmux window of the given size on a
// server of its own, for a terminal the test can type into and read.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, env []string, cols, rows int, argv ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		const why = "tmux is not installed (Debian: apt-get install tmux); the interactive session needs a terminal"
		if os.Getenv("CI") == "true" {
			t.Fatal(why) // .ci/run installs it
		}
		t.Skip(why)
	}
	s := &tmuxSession{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { _ = s.cmd("kill-server").Run() })
	// The shell script keeps the window after the CLI exits and shows its
	// exit status.
	script := shellQuote(argv) + `; echo "CLI-EXIT=$?"; sleep 600`
	c := s.cmd("new-session", "-d", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), "sh", "-c", script)
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	return s
}

func (s *tmuxSession) cmd(args ...string) *exec.Cmd {
	return exec.Command("tmux", append([]string{"-S", s.socket}, args...)...)
}

func (s *tmuxSession) run(args ...string) {
	s.t.Helper()
	if out, err := s.cmd(args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
}

func (s *tmuxSession) screen() string {
	s.t.Helper()
	out, err := s.cmd("capture-pane", "-p", "-S", "-200").Output()
	if err != nil {
		s.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

// waitScreen waits until the screen matches re.
func (s *tmuxSession) waitScreen(what string, re *regexp.Regexp) []string {
	s.t.Helper()
	var m []string
	waitFor(s.t, time.Minute, what, func() error {
		if m = re.FindStringSubmatch(s.screen()); m == nil {
			return fmt.Errorf("screen:\n%s", s.screen())
		}
		return nil
	})
	return m
}

func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// TestExecuteCommandInteractive: a real interactive shell through the AWS
// CLI and the plugin in a terminal: typed commands run, the terminal's
// size follows the window, `exit 3` ends the session and the CLI exits as
// the plugin does (0).
func TestExecuteCommandInteractive(t *testing.T) {
	t.Parallel()
	e, _ := dockerServer(t, "")
	plugin := sessionManagerPlugin(t)
	task := execTask(t, e, true)
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal(err)
	}
	tm := newTmux(t, awsEnv(plugin), 100, 30, awsPath, "--endpoint-url", e.URL(), "ecs", "execute-command",
		"--cluster", "default", "--task", *task.TaskArn, "--container", "app", "--interactive", "--command", "/bin/sh")
	id := tm.waitScreen("the session starts", sessionLine)[1]
	tm.waitScreen("the shell prompts", regexp.MustCompile(`(?m)^#\s*$`))

	tm.run("send-keys", "echo $((6*7)); stty size", "Enter")
	tm.waitScreen("the shell answers", regexp.MustCompile(`(?m)^42\n30 100$`))

	// The plugin looks at the terminal's size twice a second and sends
	// changes.
	tm.run("resize-window", "-x", "132", "-y", "40")
	deadline := time.Now().Add(time.Minute)
	for n := 0; ; n++ {
		tm.run("send-keys", fmt.Sprintf("echo size-%d $(stty size)", n), "Enter")
		size := tm.waitScreen("the shell answers", regexp.MustCompile(fmt.Sprintf(`(?m)^size-%d (\d+ \d+)$`, n)))[1]
		if size == "40 132" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal is still %s, not 40 132:\n%s", size, tm.screen())
		}
	}

	tm.run("send-keys", "exit 3", "Enter")
	tm.waitScreen("the session ends", regexp.MustCompile(`Exiting session with sessionId: `+id+`\.`))
	tm.waitScreen("the CLI exits", regexp.MustCompile(`CLI-EXIT=0`))
}

// TestExecuteCommandErrors: ECS's refusals through the SDK and the CLI,
// and the data channel's through the real plugin.
func TestExecuteCommandErrors(t *testing.T) {
	t.Parallel()
	e, _ := dockerServer(t, "")
	plugin := sessionManagerPlugin(t)
	task := execTask(t, e, true)
	off := execTask(t, e, false)
	c := e.defaultClient()
	in := func(task types.Task, container string) *ecs.ExecuteCommandInput {
		return &ecs.ExecuteCommandInput{Cluster: aws.String("default"), Task: task.TaskArn,
			Container: aws.String(container), Command: aws.String("/bin/sh"), Interactive: true}
	}
	const notEnabled = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."

	_, err := c.ExecuteCommand(t.Context(), in(off, "app"))
	wantAPIError[*types.InvalidParameterException](t, err, notEnabled)
	bad := in(task, "app")
	bad.Interactive = false
	_, err = c.ExecuteCommand(t.Context(), bad)
	wantAPIError[*types.InvalidParameterException](t, err, "Interactive is the only mode supported currently.")
	_, err = c.ExecuteCommand(t.Context(), in(task, "nope"))
	wantAPIError[*types.InvalidParameterException](t, err, "The container nope does not exist in the task.")
	_, err = c.ExecuteCommand(t.Context(), in(task, ""))
	wantAPIError[*types.InvalidParameterException](t, err, "The task has more than one container; specify the container to run the command in.")
	gone := in(task, "app")
	gone.Task = aws.String("0123456789abcdef0123456789abcdef")
	_, err = c.ExecuteCommand(t.Context(), gone)
	wantAPIError[*types.InvalidParameterException](t, err, "The referenced task was not found")
	noCluster := in(task, "app")
	noCluster.Cluster = aws.String("nope")
	_, err = c.ExecuteCommand(t.Context(), noCluster)
	wantAPIError[*types.ClusterNotFoundException](t, err, "Cluster not found.")

	// The same through the CLI, which exits 255 (v1) or 254 (v2) on a
	// service error.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		task types.Task
		args []string
		want string
	}{
		{off, []string{"--container", "app", "--interactive", "--command", "ls"}, "An error occurred (InvalidParameterException) when calling the ExecuteCommand operation: " + notEnabled},
		{task, []string{"--container", "app", "--non-interactive", "--command", "ls"}, "An error occurred (InvalidParameterException) when calling the ExecuteCommand operation: Interactive is the only mode supported currently."},
	} {
		cmd := cliCommand(ctx, e, plugin, *tc.task.TaskArn, tc.args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 254 && ee.ExitCode() != 255 || !strings.Contains(string(out), tc.want) {
			t.Errorf("aws %v: %v\n%s", tc.args, err, out)
		}
	}

	// The data channel, through the real plugin as the CLI starts it.
	runPlugin := func(s *types.Session) string {
		t.Helper()
		session, _ := json.Marshal(map[string]string{"SessionId": *s.SessionId, "StreamUrl": *s.StreamUrl, "TokenValue": *s.TokenValue})
		cmd := exec.CommandContext(ctx, filepath.Join(plugin, "session-manager-plugin"), string(session), defaultRegion,
			"StartSession", "", `{"Target": "ecs:default"}`, e.URL())
		cmd.Env = awsEnv(plugin)
		stdin, _ := cmd.StdinPipe()
		defer stdin.Close()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("session-manager-plugin: %v\n%s", err, out)
		}
		return string(out)
	}
	ok, err := c.ExecuteCommand(t.Context(), &ecs.ExecuteCommandInput{Cluster: aws.String("default"), Task: task.TaskArn,
		Container: aws.String("app"), Command: aws.String("sh -c 'echo done'"), Interactive: true})
	if err != nil {
		t.Fatal(err)
	}
	forged := *ok.Session
	forged.TokenValue = aws.String("forged")
	if out := runPlugin(&forged); !strings.Contains(out, "SessionId: "+*ok.Session.SessionId+" : The session token is not valid.") {
		t.Errorf("forged token:\n%s", out)
	}
	if out := runPlugin(ok.Session); !strings.Contains(out, "done") || !strings.Contains(out, "Exiting session with sessionId: "+*ok.Session.SessionId) {
		t.Errorf("session:\n%s", out)
	}
	if out := runPlugin(ok.Session); !strings.Contains(out, "The session token was already used; run ExecuteCommand again for a new session.") {
		t.Errorf("used token:\n%s", out)
	}
}

// TestExecuteCommandContainerCloses: a session whose container stops ends
// (the CLI exits), and a session whose client goes away stops its command.
func TestExecuteCommandContainerCloses(t *testing.T) {
	t.Parallel()
	e, _ := dockerServer(t, "")
	cli, _ := docker(t)
	plugin := sessionManagerPlugin(t)
	task := execTask(t, e, true)
	c := e.defaultClient()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// The client goes away: its command is hung up on.
	cmd := cliCommand(ctx, e, plugin, *task.TaskArn, "--container", "side", "--interactive", "--command", "cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	side := ""
	for _, ctr := range task.Containers {
		if *ctr.Name == "side" {
			side = *ctr.RuntimeId
		}
	}
	catRuns := func() (bool, error) {
		top, err := cli.ContainerTop(ctx, side, nil)
		if err != nil {
			return false, err
		}
		for _, p := range top.Processes {
			if strings.Contains(strings.Join(p, " "), "cat") {
				return true, nil
			}
		}
		return false, nil
	}
	waitFor(t, time.Minute, "cat runs in the container", func() error {
		if ok, err := catRuns(); err != nil || !ok {
			return fmt.Errorf("not yet (%v); CLI output %q", err, out.String())
		}
		return nil
	})
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	waitFor(t, time.Minute, "cat is hung up on", func() error {
		if ok, err := catRuns(); err != nil || ok {
			return fmt.Errorf("cat still runs (%v)", err)
		}
		return nil
	})

	// The container stops under a running session: the session ends.
	cmd = cliCommand(ctx, e, plugin, *task.TaskArn, "--container", "app", "--interactive", "--command", "/bin/sh")
	if stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out = &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, time.Minute, "the session starts", func() error {
		if !strings.Contains(out.String(), "# ") {
			return fmt.Errorf("output %q", out.String())
		}
		return nil
	})
	if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Task: task.TaskArn, Cluster: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "Exiting session with sessionId: ") {
			t.Errorf("CLI: %v\n%s", err, out.String())
		}
	case <-ctx.Done():
		t.Fatalf("the session outlived its container:\n%s", out.String())
	}
	// A stopped task's agents are STOPPED, and it takes no new session.
	waitFor(t, time.Minute, "the task stops", func() error {
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{*task.TaskArn}})
		if err != nil {
			return err
		}
		if s := *d.Tasks[0].LastStatus; s != "STOPPED" {
			return fmt.Errorf("task is %s", s)
		}
		for _, ctr := range d.Tasks[0].Containers {
			if got := aws.ToString(ctr.ManagedAgents[0].LastStatus); got != "STOPPED" {
				return fmt.Errorf("%s agent is %s", *ctr.Name, got)
			}
		}
		return nil
	})
	_, err = c.ExecuteCommand(t.Context(), &ecs.ExecuteCommandInput{Cluster: aws.String("default"), Task: task.TaskArn,
		Container: aws.String("app"), Command: aws.String("ls"), Interactive: true})
	wantAPIError[*types.InvalidParameterException](t, err, "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again.")
}

// TestExecuteCommandSimulated: the simulated runtime reports the agent but
// has no process to run a command in, and says so.
func TestExecuteCommandSimulated(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("sim-exec"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64)}},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String("sim-exec"), EnableExecuteCommand: true})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Tasks[0].TaskArn
	if a := out.Tasks[0].Containers[0].ManagedAgents; len(a) != 1 || aws.ToString(a[0].LastStatus) != "PENDING" {
		t.Errorf("new task's agents %+v", a)
	}
	waitFor(t, time.Minute, "the agent runs", func() error {
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{*arn}})
		if err != nil {
			return err
		}
		if a := d.Tasks[0].Containers[0].ManagedAgents; len(a) != 1 || aws.ToString(a[0].LastStatus) != "RUNNING" {
			return fmt.Errorf("agents %+v", a)
		}
		return nil
	})
	_, err = c.ExecuteCommand(t.Context(), &ecs.ExecuteCommandInput{Task: arn, Command: aws.String("/bin/sh"), Interactive: true})
	wantAPIError[*types.TargetNotConnectedException](t, err, "The execute command failed because the task runs on ecsd's simulated runtime, which has no process to run a command in. Start ecsd with --runtime docker to use ECS Exec.")

	// A service's tasks follow its enableExecuteCommand: new tasks only.
	if _, err := c.CreateService(t.Context(), &ecs.CreateServiceInput{ServiceName: aws.String("sim-exec"),
		TaskDefinition: aws.String("sim-exec"), DesiredCount: aws.Int32(1), EnableExecuteCommand: true}); err != nil {
		t.Fatal(err)
	}
	serviceTask := func(want bool) error {
		l, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{ServiceName: aws.String("sim-exec")})
		if err != nil || len(l.TaskArns) == 0 {
			return fmt.Errorf("no task yet (%v)", err)
		}
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: l.TaskArns})
		if err != nil {
			return err
		}
		for _, task := range d.Tasks {
			if task.EnableExecuteCommand != want || (len(task.Containers[0].ManagedAgents) == 1) != want {
				return fmt.Errorf("task %s: enableExecuteCommand %v, agents %+v", *task.TaskArn, task.EnableExecuteCommand, task.Containers[0].ManagedAgents)
			}
		}
		return nil
	}
	waitFor(t, time.Minute, "the service's task has the agent", func() error { return serviceTask(true) })
	if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Service: aws.String("sim-exec"),
		EnableExecuteCommand: aws.Bool(false), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the service's tasks are replaced by ones without the agent", func() error { return serviceTask(false) })
}

// TestStartTaskExecuteCommand: StartTask's enableExecuteCommand is kept
// as RunTask's is: the task says so, its containers carry the
// ExecuteCommandAgent, and ExecuteCommand gets past the agent check (to
// the simulated runtime's own refusal); without it, ECS's "not enabled".
func TestStartTaskExecuteCommand(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := e.defaultClient()
	if _, err := c.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("start-exec"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(64)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	instances, err := c.ListContainerInstances(t.Context(), &ecs.ListContainerInstancesInput{})
	if err != nil || len(instances.ContainerInstanceArns) == 0 {
		t.Fatalf("ListContainerInstances: %v %v", instances, err)
	}
	start := func(exec bool) types.Task {
		t.Helper()
		out, err := c.StartTask(t.Context(), &ecs.StartTaskInput{TaskDefinition: aws.String("start-exec"),
			ContainerInstances: instances.ContainerInstanceArns[:1], EnableExecuteCommand: exec})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("StartTask(enableExecuteCommand %v): %+v %v", exec, out, err)
		}
		task := out.Tasks[0]
		if task.EnableExecuteCommand != exec || (len(task.Containers[0].ManagedAgents) == 1) != exec {
			t.Errorf("StartTask(enableExecuteCommand %v): task says %v, agents %+v", exec, task.EnableExecuteCommand, task.Containers[0].ManagedAgents)
		}
		return task
	}
	with, without := start(true), start(false)
	if a := with.Containers[0].ManagedAgents; len(a) != 1 || a[0].Name != types.ManagedAgentNameExecuteCommandAgent || aws.ToString(a[0].LastStatus) != "PENDING" {
		t.Errorf("new task's agents %+v", a)
	}
	waitFor(t, time.Minute, "both tasks run, the agent with them", func() error {
		d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{*with.TaskArn, *without.TaskArn}})
		if err != nil {
			return err
		}
		for _, task := range d.Tasks {
			if aws.ToString(task.LastStatus) != "RUNNING" {
				return fmt.Errorf("task %s is %s", *task.TaskArn, aws.ToString(task.LastStatus))
			}
		}
		if a := d.Tasks[0].Containers[0].ManagedAgents; len(a) != 1 || aws.ToString(a[0].LastStatus) != "RUNNING" {
			return fmt.Errorf("agents %+v", a)
		}
		return nil
	})
	_, err = c.ExecuteCommand(t.Context(), &ecs.ExecuteCommandInput{Task: with.TaskArn, Command: aws.String("/bin/sh"), Interactive: true})
	wantAPIError[*types.TargetNotConnectedException](t, err, "The execute command failed because the task runs on ecsd's simulated runtime, which has no process to run a command in. Start ecsd with --runtime docker to use ECS Exec.")
	_, err = c.ExecuteCommand(t.Context(), &ecs.ExecuteCommandInput{Task: without.TaskArn, Command: aws.String("/bin/sh"), Interactive: true})
	wantAPIError[*types.InvalidParameterException](t, err, "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again.")
}

// lockedBuffer is an output buffer a test reads while a process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*lockedBuffer)(nil)
