package zktest

// The Docker provider: the ensemble's servers run as containers of the
// image docker/build-image makes (zkcoord/zookeeper:3.8, from Debian's
// packages, no registry needed), started with testcontainers-go on two
// networks of their own: the clients', where client ports are published,
// and an internal one for quorum and election traffic (container_peers.go).
// Each server's client port is published on a fixed loopback port reserved
// like a local server's (internal/ports), so a restarted container
// comes back at the same address, and Links, CheckClean and the
// four-letter words work as they do for local processes. Kill sends
// SIGKILL to the container; Restart starts the same container again, with
// its config and data.
//
// Ryuk, testcontainers' garbage collector, is an image from a registry, so
// it is disabled unless TESTCONTAINERS_RYUK_DISABLED says otherwise: Stop
// removes the containers and the networks, and the next start sweeps those
// of test binaries that died without stopping (by label, like sweepStale).

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"

	"github.com/zkcoord/zkcoord/internal/ports"
)

// DefaultDockerImage is the image the Docker provider runs unless
// ZOOKEEPER_IMAGE names another; docker/build-image builds it.
const DefaultDockerImage = "zkcoord/zookeeper:3.8"

// dockerOwnerLabel marks the containers and networks zktest starts with
// "<hostname>/<pid>" of the test binary, so a later one can remove those
// whose owner died.
const dockerOwnerLabel = "org.zkcoord.zktest.owner"

// dockerProbeTimeout bounds looking for a Docker daemon and the image when
// New falls back to Docker.
const dockerProbeTimeout = 5 * time.Second

// errNoImage is returned by openDocker when the daemon lacks the image.
var errNoImage = errors.New("zktest: Docker provider: no image")

// errDockerTLS is returned by New for Options.TLS with the Docker provider.
var errDockerTLS = errors.New("zktest: Options.TLS needs local servers; the Docker provider has no TLS")

// dockerImage is the image the Docker provider runs.
func dockerImage() string {
	if s := strings.TrimSpace(os.Getenv("ZOOKEEPER_IMAGE")); s != "" {
		return s
	}
	return DefaultDockerImage
}

// providerChoice reads ZKTEST_PROVIDER: "" (local servers if installed,
// else Docker if it has the image), "local" or "docker".
func providerChoice() (string, error) {
	switch p := strings.ToLower(strings.TrimSpace(os.Getenv("ZKTEST_PROVIDER"))); p {
	case "", "local", "docker":
		return p, nil
	default:
		return "", fmt.Errorf("zktest: ZKTEST_PROVIDER=%q: want local or docker", p)
	}
}

// dockerFirst reports whether New must use Docker before anything else:
// Options.Docker, or ZKTEST_PROVIDER=docker without ZK_SERVERS, for a
// cluster that needs no TLS (which only local servers have).
func dockerFirst(opts Options) (bool, error) {
	p, err := providerChoice()
	if err != nil {
		return false, err
	}
	if opts.Docker {
		return true, nil
	}
	return p == "docker" && !opts.TLS && strings.TrimSpace(os.Getenv("ZK_SERVERS")) == "", nil
}

// dockerInstead is New when no local ZooKeeper was found (notFound): the
// servers run in Docker if nobody asked for local ones (ZKTEST_PROVIDER=
// local, or ZOOKEEPER_HOME, whose mistakes must be reported), the cluster
// needs no TLS, a daemon answers and the image is there. Otherwise it
// returns notFound, saying how to get the image when only that is missing.
func dockerInstead(opts Options, notFound error) (*Cluster, error) {
	if p, _ := providerChoice(); p == "local" || opts.TLS || os.Getenv("ZOOKEEPER_HOME") != "" {
		return nil, notFound
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerProbeTimeout)
	defer cancel()
	d, err := openDocker(ctx)
	if errors.Is(err, errNoImage) {
		return nil, fmt.Errorf("%w; or, Docker being here, %w", notFound, err)
	}
	if err != nil {
		return nil, notFound
	}
	d.close()
	return startDocker(opts)
}

// dockerSet is what a Docker cluster holds beyond its servers.
type dockerSet struct {
	provider *testcontainers.DockerProvider
	image    string

	ctx    context.Context // ends container waits when the cluster stops
	cancel context.CancelFunc

	mu         sync.Mutex
	network    *testcontainers.DockerNetwork // clients' side: ports are published here
	quorum     *testcontainers.DockerNetwork // servers' side (container_peers.go)
	containers []*dockerServer
}

// dockerServer is one server's container.
type dockerServer struct {
	set  *dockerSet
	name string
	ctr  testcontainers.Container // nil until created
}

var ryukOnce sync.Once

// disableRyuk turns testcontainers' reaper off unless the environment says
// otherwise: it is an image that would have to be pulled. testcontainers
// reads its configuration once, so this must precede its first use.
func disableRyuk() {
	ryukOnce.Do(func() {
		if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
			_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		}
	})
}

// openDocker connects to the Docker daemon and checks the image is there.
func openDocker(ctx context.Context) (*dockerSet, error) {
	disableRyuk()
	image := dockerImage()
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return nil, fmt.Errorf("zktest: Docker provider: no Docker daemon reachable: %w", err)
	}
	if _, err := p.Client().Ping(ctx, client.PingOptions{}); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("zktest: Docker provider: no Docker daemon reachable: %w", err)
	}
	if _, err := p.Client().ImageInspect(ctx, image); err != nil {
		_ = p.Close()
		if cerrdefs.IsNotFound(err) {
			build := "docker/build-image"
			if image != DefaultDockerImage {
				build += " --image " + image
			}
			return nil, fmt.Errorf("%w %s: run %s (as root; it needs no registry)", errNoImage, image, build)
		}
		return nil, fmt.Errorf("zktest: Docker provider: inspecting image %s: %w", image, err)
	}
	// Published ports are picked free here and reached on 127.0.0.1: the
	// daemon must share this host's loopback. (testcontainers' own guess,
	// the default gateway whenever /.dockerenv exists, is wrong for a
	// daemon running in the same container as the tests.)
	if err := localDaemon(p.Client().DaemonHost()); err != nil {
		_ = p.Close()
		return nil, err
	}
	dctx, cancel := context.WithCancel(context.Background())
	return &dockerSet{provider: p, image: image, ctx: dctx, cancel: cancel}, nil
}

// localDaemon accepts a daemon address on this host: a Unix socket, a
// named pipe, or TCP on loopback.
func localDaemon(addr string) error {
	u, err := url.Parse(addr)
	if err != nil {
		return fmt.Errorf("zktest: Docker provider: daemon address %q: %w", addr, err)
	}
	switch u.Scheme {
	case "unix", "npipe":
		return nil
	case "tcp", "http", "https":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" || h == "::1" {
			return nil
		}
	}
	return fmt.Errorf("zktest: Docker provider: the daemon at %s is not on this host; published ports are reached on 127.0.0.1", addr)
}

func (d *dockerSet) client() client.APIClient { return d.provider.Client() }

// startDocker is New for the Docker provider.
func startDocker(opts Options) (*Cluster, error) {
	if opts.TLS {
		return nil, errDockerTLS
	}
	c, err := startDockerOnce(opts)
	if errors.Is(err, errPortTaken) {
		c, err = startDockerOnce(opts)
	}
	return c, err
}

func startDockerOnce(opts Options) (_ *Cluster, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), startWait(opts.TickTime))
	defer cancel()
	d, err := openDocker(ctx)
	if err != nil {
		return nil, err
	}
	d.sweepStale(ctx)
	c := &Cluster{docker: d, opts: opts}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	owner := map[string]string{dockerOwnerLabel: ownerID()}
	nw, err := tcnetwork.New(ctx, tcnetwork.WithLabels(owner))
	if err != nil {
		return nil, fmt.Errorf("zktest: Docker provider: creating a network: %w", err)
	}
	d.mu.Lock()
	d.network = nw
	d.mu.Unlock()
	if err := d.newQuorumNetwork(ctx, owner); err != nil {
		return nil, err
	}
	c.peers = newDockerPeers(opts.Nodes)

	if c.ports, err = ports.Reserve(opts.Nodes); err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	picked := c.ports.Ports
	env := dockerEnv(opts)
	prefix := fmt.Sprintf("zktest-%d-%s", os.Getpid(), nw.ID[:8])
	for i := range opts.Nodes {
		s := &server{id: i + 1, clientPort: picked[i]}
		ds := &dockerServer{set: d, name: fmt.Sprintf("%s-zk%d", prefix, s.id)}
		s.ctr = ds
		d.mu.Lock()
		d.containers = append(d.containers, ds)
		d.mu.Unlock()
		c.procs = append(c.procs, s)
		c.addrs = append(c.addrs, s.addr())
		serverEnv := map[string]string{"ZOO_MY_ID": strconv.Itoa(s.id)}
		for k, v := range env {
			serverEnv[k] = v
		}
		if err := ds.create(ctx, s, serverEnv, owner); err != nil {
			return nil, err
		}
	}
	for _, s := range c.procs {
		if err := s.start(c.isStopped); err != nil {
			return nil, err
		}
	}
	// Creating containers and networks took its own time; serving gets
	// the whole bound.
	sctx, scancel := context.WithTimeout(context.Background(), startWait(opts.TickTime))
	defer scancel()
	err = poll(sctx, func() error {
		for i, s := range c.procs {
			if !s.running() {
				return permanent(fmt.Errorf("server %d exited during startup", i))
			}
		}
		return c.servingNow()
	})
	if err == nil {
		err = c.probe(sctx, true)
	}
	if err != nil {
		if opts.Logf != nil {
			opts.Logf("zktest: ensemble failed to start in Docker: %v\n%s", err, c.logs())
		}
		return nil, fmt.Errorf("zktest: starting a %d-node ensemble in Docker (%s): %w", opts.Nodes, d.image, err)
	}
	return c, nil
}

// ownerID names this test binary in the owner label.
func ownerID() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}

// dockerEnv is the configuration every server's container gets, in the
// official image's variables (docker/zookeeper/docker-entrypoint.sh reads
// the same): the settings of a local server (server.go) as far as they
// apply in a container.
func dockerEnv(opts Options) map[string]string {
	var servers []string
	for i := 1; i <= opts.Nodes; i++ {
		servers = append(servers, fmt.Sprintf("server.%d=zk%d:2888:3888;2181", i, i))
	}
	return map[string]string{
		"ZOO_SERVERS":                strings.Join(servers, " "),
		"ZOO_STANDALONE_ENABLED":     strconv.FormatBool(opts.Nodes == 1),
		"ZOO_TICK_TIME":              strconv.FormatInt(opts.TickTime.Milliseconds(), 10),
		"ZOO_INIT_LIMIT":             strconv.Itoa(opts.InitLimit),
		"ZOO_SYNC_LIMIT":             strconv.Itoa(opts.SyncLimit),
		"ZOO_MAX_CLIENT_CNXNS":       "0",
		"ZOO_ADMINSERVER_ENABLED":    "false",
		"ZOO_4LW_COMMANDS_WHITELIST": "*",
		"ZOO_CFG_EXTRA": strings.Join([]string{
			fmt.Sprintf("minSessionTimeout=%d", opts.MinSessionTimeout.Milliseconds()),
			fmt.Sprintf("maxSessionTimeout=%d", opts.MaxSessionTimeout.Milliseconds()),
			"reconfigEnabled=false",
			// A server's own name resolves on the quorum network only,
			// which Isolate takes away: listen on every address instead.
			"quorumListenOnAllIPs=true",
			"forceSync=no",
			"preAllocSize=1024",
		}, " "),
		// A killed container's address stops answering instead of
		// refusing: connecting to it takes the whole connect timeout (5s by
		// default), which stalls an election that local servers finish in
		// a tick or two.
		"JVMFLAGS": "-Dznode.container.checkIntervalMs=100 -Dzookeeper.extendedTypesEnabled=true -Dzookeeper.cnxTimeout=500",
	}
}

// create makes s's container, attached to the cluster's network as zk<id>,
// with its client port published on s.clientPort, without starting it.
func (ds *dockerServer) create(ctx context.Context, s *server, env, labels map[string]string) error {
	d := ds.set
	loopback := netip.MustParseAddr("127.0.0.1")
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        d.image,
			Name:         ds.name,
			Env:          env,
			Labels:       labels,
			ExposedPorts: []string{"2181/tcp"},
			// The quorum network is connected below, apart: an alias
			// given here would be registered on every network.
			Networks: []string{d.network.Name},
			// Not the alias as hostname either: Docker would register
			// it on the clients' network too.
			ConfigModifier: func(cfg *container.Config) { cfg.Hostname = "server" + strconv.Itoa(s.id) },
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.PortBindings = network.PortMap{
					network.MustParsePort("2181/tcp"): {{HostIP: loopback, HostPort: strconv.Itoa(s.clientPort)}},
				}
			},
		},
		Logger: tclog.NewNoopLogger(),
	})
	if ctr != nil {
		d.mu.Lock()
		ds.ctr = ctr
		d.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("zktest: Docker provider: creating the container of server %d: %w", s.id, err)
	}
	return d.setQuorum(ctx, s, true)
}

// startLocked starts s's container and watches for its exit, which closes
// s.done. s.mu is held.
func (ds *dockerServer) startLocked(s *server) error {
	d := ds.set
	ctx, cancel := context.WithTimeout(d.ctx, startTimeout)
	defer cancel()
	if err := ds.ctr.Start(ctx); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "address already in use") || strings.Contains(msg, "port is already allocated") {
			return fmt.Errorf("%w: server %d: %w", errPortTaken, s.id, err)
		}
		return fmt.Errorf("zktest: starting the container of server %d: %w", s.id, err)
	}
	// Registered once the daemon acknowledges it: an exit from now on,
	// even an immediate one, ends the wait.
	wait := d.client().ContainerWait(d.ctx, ds.ctr.GetContainerID(), client.ContainerWaitOptions{
		Condition: container.WaitConditionNotRunning,
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-wait.Result:
		case <-wait.Error: // the daemon is gone, or the cluster stopped
		}
	}()
	s.done = done
	return nil
}

// killLocked sends SIGKILL to s's container and waits until it has exited.
// s.mu is held.
func (ds *dockerServer) killLocked(s *server) {
	if s.done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ds.set.ctx, startTimeout)
	defer cancel()
	// A container that exited on its own cannot be killed: that is fine.
	_, _ = ds.set.client().ContainerKill(ctx, ds.ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"})
	select {
	case <-s.done:
	case <-ctx.Done():
	}
	s.done = nil
}

// logTail returns up to limit bytes from the end of the container's
// output, without zktest's own four-letter polling, like server.logTail.
func (ds *dockerServer) logTail(id int, limit int64) string {
	ds.set.mu.Lock()
	ctr := ds.ctr
	ds.set.mu.Unlock()
	if ctr == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ds.set.client().ContainerLogs(ctx, ctr.GetContainerID(), client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Tail: "5000",
	})
	if err != nil {
		return fmt.Sprintf("==> server %d container %s <==\n(no logs: %v)\n", id, ds.name, err)
	}
	defer rc.Close()
	var out strings.Builder
	_, _ = stdcopy.StdCopy(&out, &out, rc)
	var kept []string
	for line := range strings.Lines(out.String()) {
		if !strings.Contains(line, "] - Processing ") || !strings.Contains(line, " command from ") {
			kept = append(kept, line)
		}
	}
	text := strings.Join(kept, "")
	if int64(len(text)) > limit {
		text = text[int64(len(text))-limit:]
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	return fmt.Sprintf("==> server %d container %s <==\n%s\n", id, ds.name, text)
}

// close removes the containers and the network and closes the client.
// The servers have been killed already (Cluster.Stop).
func (d *dockerSet) close() {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	d.mu.Lock()
	containers, nws := d.containers, []*testcontainers.DockerNetwork{d.network, d.quorum}
	d.containers, d.network, d.quorum = nil, nil, nil
	d.mu.Unlock()
	for _, ds := range containers {
		if ds.ctr != nil {
			_ = ds.ctr.Terminate(ctx, testcontainers.StopTimeout(0))
		}
	}
	for _, nw := range nws {
		if nw != nil {
			_ = nw.Remove(ctx)
		}
	}
	d.cancel()
	_ = d.provider.Close()
}

// sweepStale removes the containers, then the networks, that test binaries
// on this host left behind when they died without stopping their clusters.
func (d *dockerSet) sweepStale(ctx context.Context) {
	host, _ := os.Hostname()
	stale := func(labels map[string]string) bool {
		h, pid, ok := strings.Cut(labels[dockerOwnerLabel], "/")
		n, err := strconv.Atoi(pid)
		return ok && err == nil && h == host && n != os.Getpid() && !processAlive(n)
	}
	filter := make(client.Filters).Add("label", dockerOwnerLabel)
	cs, err := d.client().ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err == nil {
		for _, c := range cs.Items {
			if stale(c.Labels) {
				_, _ = d.client().ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			}
		}
	}
	ns, err := d.client().NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err == nil {
		for _, n := range ns.Items {
			if stale(n.Labels) {
				_, _ = d.client().NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
			}
		}
	}
}

// dockerContainerName returns the name of server i's container, "" for a
// cluster not in Docker.
func (c *Cluster) dockerContainerName(i int) string {
	if c.docker == nil || i < 0 || i >= len(c.procs) || c.procs[i].ctr == nil {
		return ""
	}
	return c.procs[i].ctr.name
}
