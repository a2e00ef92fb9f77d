// Package deploy holds the deployment artefacts' tests: the container image
// (the Dockerfile at the repository root) here, the Helm chart in helm/. It
// has no Go code of its own.
package deploy

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"sigs.k8s.io/yaml"

	"github.com/bgp-connector/bgp-connector/connector"
)

const root = "../"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	stage     int // index of the FROM it belongs to (-1 before the first)
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	stage := -1
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{cmd: cmd, args: strings.TrimSpace(args), stage: stage})
	}
	return out
}

// shellWords splits a shell command line into words, honouring single and
// double quotes and expanding ${NAME} and $NAME from vars.
func shellWords(t *testing.T, s string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'' && c != '\'':
			w.WriteByte(c)
		case c == '\'' || c == '"':
			if quote == c {
				quote = 0
			} else if quote == 0 {
				quote = c
			} else {
				w.WriteByte(c)
			}
			inWord = true
		case c == '$' && quote != '\'':
			name := ""
			if i+1 < len(s) && s[i+1] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					t.Fatalf("unterminated ${ in %q", s)
				}
				name, i = s[i+2:i+end], i+end
			} else {
				j := i + 1
				for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
					j++
				}
				name, i = s[i+1:j], j-1
			}
			v, ok := vars[name]
			if !ok {
				t.Fatalf("the Dockerfile uses $%s, which no ARG defines", name)
			}
			w.WriteString(v)
			inWord = true
		case (c == ' ' || c == '\t') && quote == 0:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// buildArgs are the --build-arg values the test builds with; TARGETOS and
// TARGETARCH are this machine's so that the binary runs here.
var buildArgs = map[string]string{
	"VERSION": "v9.8.7-test", "COMMIT": "0123456789abcdef", "BUILD_DATE": "2026-01-02T03:04:05Z",
	"TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH,
}

// goBuild returns the environment assignments and the go command words of
// the build stage's RUN line that calls go build, with the build stage's
// ARGs expanded (defaults overridden by buildArgs).
func goBuild(t *testing.T, ins []instruction) (env, args []string) {
	t.Helper()
	vars := map[string]string{}
	for _, in := range ins {
		switch in.cmd {
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			vars[name] = def
			if v, ok := buildArgs[name]; ok {
				vars[name] = v
			}
		case "RUN":
			if !strings.Contains(in.args, "go build") {
				continue
			}
			words := shellWords(t, in.args, vars)
			for len(words) > 0 && strings.HasPrefix(words[0], "--mount=") {
				words = words[1:]
			}
			for len(words) > 0 && strings.Contains(words[0], "=") {
				env, words = append(env, words[0]), words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				t.Fatalf("RUN line with go build is not [VAR=value]... go build ...: %q", in.args)
			}
			return env, words[1:]
		}
	}
	t.Fatal("the Dockerfile has no RUN ... go build")
	return nil, nil
}

// buildContext copies the files the .dockerignore lets into the build
// context to a temporary directory, as docker build sends them.
func buildContext(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir // excluded, and large
			}
			return nil
		}
		excluded, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil || excluded || !d.Type().IsRegular() {
			return err
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return copyFile(p, dst)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{".git", "_scratch", "deploy", "integration", "connector/config_test.go", "emit/text/testdata"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf(".dockerignore lets %s into the build context", gone)
		}
	}
	return dir
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// chartSecurity returns the chart's default pod security context.
func chartSecurity(t *testing.T) (uid, gid int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("helm", "bgp-connector", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PodSecurityContext struct {
			RunAsUser  int64 `json:"runAsUser"`
			RunAsGroup int64 `json:"runAsGroup"`
		} `json:"podSecurityContext"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.PodSecurityContext.RunAsUser, v.PodSecurityContext.RunAsGroup
}

// TestImage builds the binary exactly as the Dockerfile does (its RUN
// line's environment and go build flags, from the build context the
// .dockerignore leaves), and checks what can be checked without a Docker
// engine: the binary is static and trimmed, carries the version it was
// given, runs with an empty environment, serves the demo from the image's
// layout; the image runs as the chart's non-root UID and carries the OCI
// labels.
func TestImage(t *testing.T) {
	ins := parseDockerfile(t)
	env, args := goBuild(t, ins)
	t.Logf("Dockerfile build: %s go %s", strings.Join(env, " "), strings.Join(args, " "))
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=" + runtime.GOOS, "GOARCH=" + runtime.GOARCH} {
		if !contains(env, want) {
			t.Errorf("the go build environment %v lacks %s", env, want)
		}
	}
	ldflags := ""
	out := -1
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "-ldflags="); ok {
			ldflags = v
		}
		if a == "-o" {
			out = i + 1
		}
	}
	if !contains(args, "-trimpath") || out < 0 || out >= len(args) {
		t.Fatalf("go build flags %v: want -trimpath and -o", args)
	}
	for _, x := range []string{"-X main.version=" + buildArgs["VERSION"], "-X main.commit=" + buildArgs["COMMIT"], "-X main.buildDate=" + buildArgs["BUILD_DATE"]} {
		if !strings.Contains(ldflags, x) {
			t.Errorf("-ldflags %q lacks %q", ldflags, x)
		}
	}

	ctxDir := buildContext(t)
	img := t.TempDir() // the image's file system: / of the final stage
	bin := filepath.Join(img, "bgp-connector")
	args = append([]string(nil), args...)
	args[out] = bin
	build := exec.Command("go", args...)
	build.Dir = ctxDir
	build.Env = append(os.Environ(), env...)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}

	// Static: no program interpreter, no shared libraries.
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it is dynamically linked")
		}
	}
	if libs, err := ef.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	if ef.Section(".dynamic") != nil {
		if needed, _ := ef.DynString(elf.DT_NEEDED); len(needed) > 0 {
			t.Errorf("DT_NEEDED %v", needed)
		}
	}
	ef.Close()
	// -trimpath: no build directory in the binary.
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{ctxDir, mustAbs(t, root)} {
		if bytes.Contains(raw, []byte(dir)) {
			t.Errorf("the binary contains the build path %s: -trimpath did not apply", dir)
		}
	}

	// Runs with an empty environment, as in the image.
	run := func(dir string, args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{}
		cmd.Dir = dir
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return so.String(), se.String(), code
	}
	so, se, code := run(img, "--version")
	wantVersion := "bgp-connector " + buildArgs["VERSION"] + " (commit " + buildArgs["COMMIT"] + ", built " + buildArgs["BUILD_DATE"] + ", " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if code != 0 || so != wantVersion {
		t.Errorf("--version: exit %d, %q (stderr %q), want %q", code, so, se, wantVersion)
	}
	so, _, code = run(img, "--help")
	if code != 0 || !strings.Contains(so, "run ") || !strings.Contains(so, "broker ") {
		t.Errorf("--help: exit %d:\n%s", code, so)
	}
	so, se, code = run(img, "run")
	if want := "bgp-connector: configuration: bootstrap.servers: " + connector.NoBrokersMsg + "\n"; code != 2 || so != "" || se != want {
		t.Errorf("run without configuration: exit %d, stdout %q, stderr %q; want exit 2 and %q", code, so, se, want)
	}

	// The final stage: base, files, user, labels, ports.
	final := ins[len(ins)-1].stage
	var user string
	labels := map[string]bool{}
	var expose []string
	for _, in := range ins {
		if in.stage != final {
			continue
		}
		switch in.cmd {
		case "FROM":
			if in.args != "gcr.io/distroless/static-debian12:nonroot" && in.args != "scratch" {
				t.Errorf("final base %q: want distroless static nonroot or scratch", in.args)
			}
		case "USER":
			user = in.args
		case "LABEL":
			for _, w := range shellWords(t, in.args, buildArgs) {
				if k, _, ok := strings.Cut(w, "="); ok {
					labels[k] = true
				}
			}
		case "EXPOSE":
			expose = append(expose, strings.Fields(in.args)...)
		case "COPY":
			w := strings.Fields(in.args)
			if strings.HasPrefix(w[0], "--from=") {
				continue
			}
			// A file from the build context, placed in the image.
			if err := os.MkdirAll(filepath.Dir(filepath.Join(img, w[1])), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := copyFile(filepath.Join(ctxDir, w[0]), filepath.Join(img, w[1])); err != nil {
				t.Errorf("COPY %s: %v (excluded by .dockerignore?)", w[0], err)
			}
		}
	}
	for _, k := range []string{"title", "description", "source", "version", "revision", "created"} {
		if !labels["org.opencontainers.image."+k] {
			t.Errorf("no LABEL org.opencontainers.image.%s", k)
		}
	}
	if !contains(expose, "9464") || !contains(expose, "5000") {
		t.Errorf("EXPOSE %v: want the metrics (9464) and collector (5000) ports", expose)
	}
	uid, gid := chartSecurity(t)
	if want := strconv.FormatInt(uid, 10) + ":" + strconv.FormatInt(gid, 10); user != want || uid == 0 {
		t.Errorf("Dockerfile USER %q, chart podSecurityContext runAsUser:runAsGroup %s (and not root)", user, want)
	}

	// demo, as `docker run IMAGE demo` runs it: the recording is embedded,
	// so it works from any working directory.
	so, se, code = run(t.TempDir(), "demo")
	if code != 0 || !strings.Contains(so, "bgp.elems.announcements") {
		t.Errorf("demo in the image layout: exit %d\n%s%s", code, so, se)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
