// git-sync: a git-sync v4 compatible replacement (the real k8s.io/git-sync cannot be fetched here).
//
// It keeps a checkout of a git ref under --root and points the symlink --link at it, swapping the
// symlink atomically on every change (root/.worktrees/<sha>, exactly as git-sync v4 lays things out).
// Flags and GITSYNC_* environment variables follow git-sync v4 (v3 GIT_SYNC_* names and --branch/--rev,
// --dest, --wait, --max-sync-failures are accepted too). Every failure is logged to stderr with git's
// own error output; after more than --max-failures consecutive failures it exits non-zero.
// --one-time exits 0 after one successful sync, non-zero when it cannot sync.
//
// The image ships git with `git daemon` and `git http-backend`, so it can also serve repositories:
//
//	git daemon --verbose --export-all --base-path=/srv/git --reuseaddr --informative-errors /srv/git
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const version = "v4.4.2-airkube"

// ---------------------------------------------------------------------------------------------------
// flags with GITSYNC_* (v4) and GIT_SYNC_* (v3) environment defaults

func envKeys(name string) []string {
	k := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	return []string{"GITSYNC_" + k, "GIT_SYNC_" + k}
}

func envString(def string, names ...string) string {
	for _, n := range names {
		for _, k := range envKeys(n) {
			if v, ok := os.LookupEnv(k); ok {
				return v
			}
		}
	}
	return def
}

func envBool(def bool, names ...string) bool {
	s := envString("", names...)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		fatalf("invalid boolean %q for %s", s, envKeys(names[0])[0])
	}
	return b
}

func envInt(def int, names ...string) int {
	s := envString("", names...)
	if s == "" {
		return def
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		fatalf("invalid integer %q for %s", s, envKeys(names[0])[0])
	}
	return i
}

func envDuration(def time.Duration, names ...string) time.Duration {
	s := envString("", names...)
	if s == "" {
		return def
	}
	d, err := parseDuration(s)
	if err != nil {
		fatalf("invalid duration %q for %s", s, envKeys(names[0])[0])
	}
	return d
}

// parseDuration accepts Go durations ("60s", "1m30s") and bare seconds ("60", "0.5").
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}
func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

type listFlag struct {
	vals *[]string
	set  bool
}

func (f *listFlag) String() string {
	if f.vals == nil {
		return ""
	}
	return strings.Join(*f.vals, ":")
}
func (f *listFlag) Set(s string) error {
	if !f.set { // the first flag replaces the env/default value
		*f.vals = nil
		f.set = true
	}
	*f.vals = append(*f.vals, s)
	return nil
}

type config struct {
	repo, ref, root, link            string
	depth                            int
	period, syncTimeout              time.Duration
	oneTime                          bool
	maxFailures                      int
	username, password, passwordFile string
	sshKeyFiles                      []string
	sshKnownHosts                    bool
	sshKnownHostsFile                string
	addUser                          bool
	httpBind                         string
	submodules                       string
	gitCmd                           string
	gitConfig                        string
	groupWrite                       bool
	touchFile, errorFile, exechook   string
	exechookTimeout                  time.Duration
	verbose                          int
}

func parseFlags(args []string) *config {
	c := &config{}
	fs := flag.NewFlagSet("git-sync", flag.ContinueOnError)
	fs.StringVar(&c.repo, "repo", envString("", "repo"), "the git repository to sync (required)")
	ref := envString("", "ref")
	branch := envString("", "branch")
	rev := envString("", "rev")
	fs.StringVar(&ref, "ref", ref, "the git revision (branch, tag, or hash) to sync (default HEAD)")
	fs.StringVar(&branch, "branch", branch, "DEPRECATED (v3): the branch to sync")
	fs.StringVar(&rev, "rev", rev, "DEPRECATED (v3): the revision to sync")
	fs.StringVar(&c.root, "root", envString("", "root"), "the root directory for git-sync operations (required)")
	fs.StringVar(&c.link, "link", envString("", "link", "dest"), "the path (absolute or relative to --root) of the symlink to the current checkout")
	fs.StringVar(&c.link, "dest", c.link, "DEPRECATED (v3): use --link")
	fs.IntVar(&c.depth, "depth", envInt(1, "depth"), "create a shallow clone with history truncated to this many commits (0: full)")
	c.period = envDuration(10*time.Second, "period", "wait")
	fs.Var(durationFlag{&c.period}, "period", "how long to wait between sync attempts (e.g. 60s)")
	fs.Var(durationFlag{&c.period}, "wait", "DEPRECATED (v3): seconds between syncs")
	c.syncTimeout = envDuration(120*time.Second, "sync-timeout", "timeout")
	fs.Var(durationFlag{&c.syncTimeout}, "sync-timeout", "the total time allowed for one sync")
	fs.Var(durationFlag{&c.syncTimeout}, "timeout", "DEPRECATED (v3): seconds allowed for one sync")
	fs.BoolVar(&c.oneTime, "one-time", envBool(false, "one-time"), "exit after the first successful sync")
	fs.IntVar(&c.maxFailures, "max-failures", envInt(0, "max-failures", "max-sync-failures"), "consecutive failures allowed before exiting (-1: forever)")
	fs.IntVar(&c.maxFailures, "max-sync-failures", c.maxFailures, "DEPRECATED (v3): use --max-failures")
	fs.StringVar(&c.username, "username", envString("", "username"), "the username for git auth")
	fs.StringVar(&c.password, "password", envString("", "password"), "the password or token for git auth (prefer --password-file)")
	fs.StringVar(&c.passwordFile, "password-file", envString("", "password-file"), "a file holding the password or token for git auth")
	keys := strings.FieldsFunc(envString("", "ssh-key-file"), func(r rune) bool { return r == ':' })
	if len(keys) == 0 {
		keys = []string{"/etc/git-secret/ssh"}
	}
	c.sshKeyFiles = keys
	fs.Var(&listFlag{vals: &c.sshKeyFiles}, "ssh-key-file", "SSH key(s) for git over SSH (repeatable)")
	fs.BoolVar(&c.sshKnownHosts, "ssh-known-hosts", envBool(true, "ssh-known-hosts"), "verify SSH host keys against --ssh-known-hosts-file")
	fs.StringVar(&c.sshKnownHostsFile, "ssh-known-hosts-file", envString("/etc/git-secret/known_hosts", "ssh-known-hosts-file"), "the known_hosts file for SSH")
	sshV3 := envBool(false, "ssh")
	fs.BoolVar(&sshV3, "ssh", sshV3, "DEPRECATED (v3): no effect, SSH is used when the repo is an SSH URL")
	fs.BoolVar(&c.addUser, "add-user", envBool(false, "add-user"), "add a record to /etc/passwd for the current UID/GID (SSH needs one)")
	fs.StringVar(&c.httpBind, "http-bind", envString("", "http-bind"), "the bind address (host:port) of the HTTP health endpoint")
	fs.StringVar(&c.submodules, "submodules", envString("recursive", "submodules"), "git submodule behaviour: recursive, shallow, off")
	fs.StringVar(&c.gitCmd, "git", envString("git", "git"), "the git command to run")
	fs.StringVar(&c.gitConfig, "git-config", envString("", "git-config"), "additional git config as a comma-separated list of key:value")
	fs.BoolVar(&c.groupWrite, "group-write", envBool(false, "group-write"), "ensure that all data (repo, worktrees, etc.) is group writable")
	fs.StringVar(&c.touchFile, "touch-file", envString("", "touch-file"), "a file to touch after each sync that changes the checkout")
	fs.StringVar(&c.errorFile, "error-file", envString("", "error-file"), "a file (relative to --root or absolute) receiving the last error")
	fs.StringVar(&c.exechook, "exechook-command", envString("", "exechook-command"), "a command run in the new worktree after each sync")
	c.exechookTimeout = envDuration(30*time.Second, "exechook-timeout")
	fs.Var(durationFlag{&c.exechookTimeout}, "exechook-timeout", "the timeout of --exechook-command")
	fs.IntVar(&c.verbose, "v", envInt(0, "verbose"), "log verbosity")
	fs.IntVar(&c.verbose, "verbose", c.verbose, "log verbosity")
	showVersion := fs.Bool("version", false, "print the version and exit")
	// accepted for compatibility, no effect here
	for _, name := range []string{"http-metrics", "http-pprof", "git-gc", "stale-worktree-timeout", "sparse-checkout-file",
		"askpass-url", "cookie-file", "credential", "webhook-url", "webhook-method", "webhook-success-status",
		"webhook-timeout", "webhook-backoff", "exechook-backoff", "sync-on-signal", "change-permissions", "man"} {
		fs.String(name, "", "accepted for git-sync compatibility; ignored")
	}
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println(version)
		os.Exit(0)
	}
	if fs.NArg() > 0 {
		fatalf("unexpected arguments: %q", fs.Args())
	}
	// ref resolution: --ref wins; v3 --rev (unless HEAD) then --branch
	switch {
	case ref != "":
		c.ref = ref
	case rev != "" && rev != "HEAD":
		c.ref = rev
	case branch != "":
		c.ref = branch
	default:
		c.ref = "HEAD"
	}
	if c.repo == "" {
		fatalf("required flag: --repo (or $GITSYNC_REPO) must be specified")
	}
	if c.root == "" {
		if home, err := os.UserHomeDir(); err == nil && home != "" {
			c.root = filepath.Join(home, "git")
		} else {
			fatalf("required flag: --root (or $GITSYNC_ROOT) must be specified")
		}
	}
	if abs, err := filepath.Abs(c.root); err == nil {
		c.root = abs
	}
	if c.link == "" {
		c.link = strings.TrimSuffix(filepath.Base(strings.TrimRight(c.repo, "/")), ".git")
	}
	if !filepath.IsAbs(c.link) {
		c.link = filepath.Join(c.root, c.link)
	}
	if c.passwordFile != "" {
		b, err := os.ReadFile(c.passwordFile)
		if err != nil {
			fatalf("can't read --password-file: %v", err)
		}
		c.password = strings.TrimRight(string(b), "\r\n")
	}
	if c.password != "" && c.username == "" {
		fatalf("--password or --password-file needs --username")
	}
	if c.depth < 0 {
		fatalf("--depth must be 0 or greater")
	}
	if c.period < 10*time.Millisecond {
		fatalf("--period must be at least 10ms")
	}
	return c
}

// ---------------------------------------------------------------------------------------------------
// logging

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s git-sync: %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), fmt.Sprintf(format, a...))
}

func fatalf(format string, a ...any) {
	logf("ERROR: "+format, a...)
	os.Exit(1)
}

// ---------------------------------------------------------------------------------------------------
// git

type syncer struct {
	c   *config
	env []string
}

type gitError struct {
	args   []string
	err    error
	output string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.output))
}

func (s *syncer) git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.c.gitCmd, args...)
	cmd.Dir = dir
	cmd.Env = s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if s.c.verbose >= 2 {
		logf("run: git %s (in %s)", strings.Join(args, " "), dir)
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (sync timeout %s)", err, s.c.syncTimeout)
		}
		return out.String(), &gitError{args, err, errb.String() + out.String()}
	}
	return strings.TrimSpace(out.String()), nil
}

var (
	shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	scpRE = regexp.MustCompile(`^[A-Za-z0-9._-]+@[^:/]+:`)
)

func isSSH(repo string) bool {
	return strings.HasPrefix(repo, "ssh://") || strings.HasPrefix(repo, "git+ssh://") || scpRE.MatchString(repo)
}

func (s *syncer) setup() error {
	c := s.c
	env := os.Environ()
	env = append(env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false", "LC_ALL=C")
	if os.Getenv("HOME") == "" || !writable(os.Getenv("HOME")) {
		env = append(env, "HOME=/tmp")
	}
	n := 0
	addCfg := func(k, v string) {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n, k), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n, v))
		n++
	}
	addCfg("safe.directory", "*")
	addCfg("gc.auto", "0")
	addCfg("advice.detachedHead", "false")
	if c.username != "" {
		// credentials come from the environment of each git process, never from disk
		env = append(env, "GITSYNC_CRED_USERNAME="+c.username, "GITSYNC_CRED_PASSWORD="+c.password)
		addCfg("credential.helper", `!f() { test "$1" = get || exit 0; echo "username=${GITSYNC_CRED_USERNAME}"; echo "password=${GITSYNC_CRED_PASSWORD}"; }; f`)
	}
	if c.gitConfig != "" {
		for _, kv := range splitConfig(c.gitConfig) {
			k, v, ok := strings.Cut(kv, ":")
			if !ok {
				return fmt.Errorf("invalid --git-config entry %q (want key:value)", kv)
			}
			addCfg(strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`))
		}
	}
	env = append(env, fmt.Sprintf("GIT_CONFIG_COUNT=%d", n))
	if isSSH(c.repo) {
		sshArgs := []string{"ssh", "-F", "none", "-o", "BatchMode=yes"}
		for _, k := range c.sshKeyFiles {
			if _, err := os.Stat(k); err != nil {
				logf("WARNING: SSH key file %s: %v", k, err)
				continue
			}
			sshArgs = append(sshArgs, "-o", "IdentitiesOnly=yes", "-i", k)
		}
		if c.sshKnownHosts {
			if _, err := os.Stat(c.sshKnownHostsFile); err != nil {
				return fmt.Errorf("can't access SSH known_hosts file %s (set --ssh-known-hosts=false to skip host key checks): %v", c.sshKnownHostsFile, err)
			}
			sshArgs = append(sshArgs, "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+c.sshKnownHostsFile)
		} else {
			sshArgs = append(sshArgs, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null")
		}
		env = append(env, "GIT_SSH_COMMAND="+strings.Join(sshArgs, " "))
	}
	s.env = env
	return nil
}

func splitConfig(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

func writable(dir string) bool {
	return syscall.Access(dir, 2) == nil
}

// initRepo makes --root a git repository with `origin` = --repo (emptying a root that is not one).
func (s *syncer) initRepo(ctx context.Context) error {
	root := s.c.root
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("can't create --root %s: %w", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err == nil {
		if _, err := s.git(ctx, root, "rev-parse", "--git-dir"); err == nil {
			if url, _ := s.git(ctx, root, "config", "--get", "remote.origin.url"); url != s.c.repo {
				if _, err := s.git(ctx, root, "remote", "set-url", "origin", s.c.repo); err != nil {
					return err
				}
			}
			return nil
		}
		logf("repo in %s is corrupt, re-initializing", root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("can't read --root %s: %w", root, err)
	}
	for _, e := range entries { // git-sync owns --root: empty it
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return fmt.Errorf("can't clean --root %s: %w", root, err)
		}
	}
	if _, err := s.git(ctx, root, "init", "-q"); err != nil {
		return err
	}
	_, err = s.git(ctx, root, "remote", "add", "origin", s.c.repo)
	return err
}

// fetch brings the commit of --ref into the repo and returns its hash.
func (s *syncer) fetch(ctx context.Context) (string, error) {
	c, root := s.c, s.c.root
	ref := c.ref
	if shaRE.MatchString(ref) {
		if _, err := s.git(ctx, root, "cat-file", "-e", ref+"^{commit}"); err == nil {
			return ref, nil
		}
	}
	args := []string{"fetch", "--no-tags", "--force"}
	if c.depth > 0 {
		args = append(args, "--depth", strconv.Itoa(c.depth))
	} else if _, err := os.Stat(filepath.Join(root, ".git", "shallow")); err == nil {
		args = append(args, "--unshallow")
	}
	_, err := s.git(ctx, root, append(args, "origin", ref)...)
	if err != nil && shaRE.MatchString(ref) {
		// servers that refuse want-by-hash: fetch everything and look for it
		logf("fetch of %s by hash failed, fetching all refs: %v", ref, err)
		if _, err2 := s.git(ctx, root, "fetch", "--no-tags", "--force", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err2 != nil {
			return "", err2
		}
		if _, err3 := s.git(ctx, root, "cat-file", "-e", ref+"^{commit}"); err3 != nil {
			return "", fmt.Errorf("ref %s not found in %s: %w", ref, c.repo, err3)
		}
		return ref, nil
	}
	if err != nil {
		return "", err
	}
	return s.git(ctx, root, "rev-parse", "FETCH_HEAD^{commit}")
}

func (s *syncer) currentHash() string {
	target, err := os.Readlink(s.c.link)
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// sync runs one sync; it returns whether the checkout changed.
func (s *syncer) sync(parent context.Context) (bool, string, error) {
	ctx, cancel := context.WithTimeout(parent, s.c.syncTimeout)
	defer cancel()
	if err := s.initRepo(ctx); err != nil {
		return false, "", err
	}
	hash, err := s.fetch(ctx)
	if err != nil {
		return false, "", err
	}
	root := s.c.root
	wtDir := filepath.Join(root, ".worktrees")
	wt := filepath.Join(wtDir, hash)
	old := s.currentHash()
	if old == hash {
		if _, err := os.Stat(filepath.Join(wt, ".git")); err == nil {
			return false, hash, nil
		}
	}
	if err := os.MkdirAll(wtDir, 0o755); err != nil {
		return false, "", err
	}
	if _, err := os.Stat(wt); err == nil { // leftover of an interrupted sync
		_ = os.RemoveAll(wt)
		_, _ = s.git(ctx, root, "worktree", "prune")
	}
	if _, err := s.git(ctx, root, "worktree", "add", "--force", "--detach", wt, hash, "--no-checkout"); err != nil {
		return false, "", err
	}
	if _, err := s.git(ctx, wt, "reset", "--hard", hash); err != nil {
		_ = os.RemoveAll(wt)
		return false, "", err
	}
	if s.c.submodules != "off" {
		if _, err := os.Stat(filepath.Join(wt, ".gitmodules")); err == nil {
			args := []string{"submodule", "update", "--init"}
			if s.c.submodules == "recursive" {
				args = append(args, "--recursive")
			}
			if s.c.depth > 0 {
				args = append(args, "--depth", strconv.Itoa(s.c.depth))
			}
			if _, err := s.git(ctx, wt, args...); err != nil {
				_ = os.RemoveAll(wt)
				return false, "", err
			}
		}
	}
	if s.c.groupWrite {
		_ = exec.CommandContext(ctx, "chmod", "-R", "g+w", root).Run()
	}
	if s.c.exechook != "" {
		hctx, hcancel := context.WithTimeout(parent, s.c.exechookTimeout)
		cmd := exec.CommandContext(hctx, s.c.exechook)
		cmd.Dir = wt
		cmd.Env = append(os.Environ(), "GITSYNC_HASH="+hash)
		out, err := cmd.CombinedOutput()
		hcancel()
		if err != nil {
			return false, "", fmt.Errorf("exechook %s: %v: %s", s.c.exechook, err, strings.TrimSpace(string(out)))
		}
	}
	if err := swapLink(s.c.link, wt); err != nil {
		return false, "", err
	}
	if old != "" && old != hash {
		if err := os.RemoveAll(filepath.Join(wtDir, old)); err != nil {
			logf("WARNING: can't remove old worktree %s: %v", old, err)
		}
		_, _ = s.git(ctx, root, "worktree", "prune")
	}
	if s.c.touchFile != "" {
		tf := s.c.touchFile
		if !filepath.IsAbs(tf) {
			tf = filepath.Join(root, tf)
		}
		if f, err := os.Create(tf); err == nil {
			f.Close()
		}
	}
	return true, hash, nil
}

// swapLink atomically points `link` at `target`: a new symlink renamed over the old one.
func swapLink(link, target string) error {
	dir := filepath.Dir(link)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(dir, target)
	if err != nil {
		rel = target
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d", filepath.Base(link), os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("can't create symlink: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("can't swap symlink %s: %w", link, err)
	}
	return nil
}

func addUser() error {
	uid, gid := os.Getuid(), os.Getgid()
	if _, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return nil
	}
	home := os.Getenv("HOME")
	if home == "" {
		home = "/tmp"
	}
	f, err := os.OpenFile("/etc/passwd", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("can't add user to /etc/passwd: %w", err)
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "git-sync:x:%d:%d::%s:/sbin/nologin\n", uid, gid, home)
	return err
}

func (s *syncer) writeError(msg string) {
	if s.c.errorFile == "" {
		return
	}
	p := s.c.errorFile
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.c.root, p)
	}
	if msg == "" {
		_ = os.Remove(p)
		return
	}
	tmp := p + ".tmp"
	if os.WriteFile(tmp, []byte(msg+"\n"), 0o644) == nil {
		_ = os.Rename(tmp, p)
	}
}

func main() {
	c := parseFlags(os.Args[1:])
	if c.addUser {
		if err := addUser(); err != nil {
			fatalf("%v", err)
		}
	}
	s := &syncer{c: c}
	if err := s.setup(); err != nil {
		fatalf("%v", err)
	}
	logf("starting %s: repo=%s ref=%s root=%s link=%s depth=%d period=%s one-time=%t max-failures=%d",
		version, redact(c.repo), c.ref, c.root, c.link, c.depth, c.period, c.oneTime, c.maxFailures)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var healthy atomic.Bool
	var syncCount atomic.Int64
	if c.httpBind != "" {
		mux := http.NewServeMux()
		health := func(w http.ResponseWriter, r *http.Request) {
			if healthy.Load() {
				fmt.Fprintln(w, "ok")
				return
			}
			http.Error(w, "not synced", http.StatusServiceUnavailable)
		}
		mux.HandleFunc("/", health)
		mux.HandleFunc("/healthz", health)
		mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "git_sync_count_total %d\n", syncCount.Load())
		})
		srv := &http.Server{Addr: c.httpBind, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fatalf("http server on %s: %v", c.httpBind, err)
			}
		}()
	}

	failures := 0
	for {
		start := time.Now()
		changed, hash, err := s.sync(ctx)
		if ctx.Err() != nil {
			logf("terminating on signal")
			os.Exit(0)
		}
		if err != nil {
			failures++
			healthy.Store(false)
			logf("ERROR: sync failed (%d consecutive): %v", failures, err)
			s.writeError(err.Error())
			if c.maxFailures >= 0 && failures > c.maxFailures {
				logf("ERROR: too many failures (%d > --max-failures=%d), aborting", failures, c.maxFailures)
				os.Exit(1)
			}
		} else {
			failures = 0
			healthy.Store(true)
			syncCount.Add(1)
			s.writeError("")
			if changed {
				logf("updated %s -> .worktrees/%s (%s) in %s", c.link, hash, c.ref, time.Since(start).Round(time.Millisecond))
			} else if c.verbose > 0 {
				logf("no update required (%s at %s)", c.ref, hash)
			}
			if c.oneTime {
				os.Exit(0)
			}
		}
		select {
		case <-ctx.Done():
			logf("terminating on signal")
			os.Exit(0)
		case <-time.After(c.period):
		}
	}
}

// redact hides a password in a URL (https://user:pass@host).
func redact(repo string) string {
	re := regexp.MustCompile(`(://[^:/@]+:)[^@/]+@`)
	return re.ReplaceAllString(repo, "${1}REDACTED@")
}
