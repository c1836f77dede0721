package keep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Service types of a Keep service.
const (
	// ServiceDisk is a keepstore server: one PUT stores one replica (or as
	// many as its volume says) and the client reaches the wanted replicas by
	// writing to several servers.
	ServiceDisk = "disk"
	// ServiceProxy is a keepproxy: one PUT may store several replicas
	// behind it, as its X-Keep-Replicas-Stored says.
	ServiceProxy = "proxy"
)

// Service is one Keep service of a cluster.
type Service struct {
	// UUID names the service (zzzzz-bi6l4-<15 characters>); its last 15
	// characters decide the service's place in the rendezvous order.
	UUID string
	// URL is the base URL, e.g. "http://keep0.zzzzz.example:25107".
	URL string
	// ReadOnly services are read from but never written to.
	ReadOnly bool
	// Type is ServiceDisk or ServiceProxy.
	Type string
}

// Defaults of a Client.
const (
	// DefaultReplicas is how many replicas a Put wants when neither the
	// PutOptions nor WithReplicas say.
	DefaultReplicas = 2
	// DefaultConnectTimeout bounds connecting to one server.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultRequestTimeout bounds one request to one server, from sending
	// it to the end of the answer's body (64 MiB at ≥ 0.25 MB/s).
	DefaultRequestTimeout = 5 * time.Minute
	// DefaultRequestsPerServer bounds the requests in flight to one server.
	DefaultRequestsPerServer = 8
)

// ClientOption configures a Client (see NewClient).
type ClientOption func(*clientConfig)

type clientConfig struct {
	replicas       int
	connectTimeout time.Duration
	requestTimeout time.Duration
	perServer      int
	httpClient     *http.Client
	logger         *slog.Logger
}

// WithReplicas sets how many replicas a Put wants when its PutOptions.Copies
// is 0 (default DefaultReplicas).
func WithReplicas(n int) ClientOption { return func(c *clientConfig) { c.replicas = n } }

// WithTimeouts sets the timeout for connecting to a server and for one whole
// request to one server (defaults DefaultConnectTimeout and
// DefaultRequestTimeout). A request that times out counts as a temporary
// failure of that server, and the call moves on to the next one. The
// connect timeout applies only to the Client's own transport (not to one
// given by WithHTTPClient).
func WithTimeouts(connect, request time.Duration) ClientOption {
	return func(c *clientConfig) { c.connectTimeout, c.requestTimeout = connect, request }
}

// WithRequestsPerServer bounds the requests in flight to each server
// (default DefaultRequestsPerServer); calls beyond it wait their turn.
func WithRequestsPerServer(n int) ClientOption { return func(c *clientConfig) { c.perServer = n } }

// WithHTTPClient makes the Client send its requests through hc instead of
// its own transport. Close then leaves hc alone.
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *clientConfig) { c.httpClient = hc } }

// WithClientLogger sets where the Client logs its decisions (at debug level)
// and its failovers (at warn level); default: discard.
func WithClientLogger(l *slog.Logger) ClientOption { return func(c *clientConfig) { c.logger = l } }

// Client is a Store (and a Refresher) over the Keep services of an Arvados
// cluster: keepstore servers or keepproxies reached over HTTP with an API
// token. It is safe for concurrent use.
//
// A Put hashes the block once, orders the writable services by rendezvous
// weight for its md5 (RendezvousOrder), and sends the block to the first of
// them, as many at once as replicas are still missing, moving on to the next
// service after each failure, until every wanted storage class holds the
// wanted replicas as confirmed by X-Keep-Replicas-Stored and
// X-Keep-Storage-Classes-Confirmed. It returns the locator the first
// confirming server signed (`md5+size+A…`). Request bodies are read straight
// from the caller's slice, and no request still reads it when Put returns.
//
// A Get tries every service in the same rendezvous order, one at a time, and
// returns the first answer whose bytes match the locator's md5 and size. A
// server that fails, times out or returns other bytes is skipped (and
// logged); the error says what each server answered (see GetError).
//
// One http.Transport serves every request, with idle connections for as many
// requests per server as are allowed in flight.
type Client struct {
	services []Service
	token    string
	cfg      clientConfig
	http     *http.Client
	// ownTransport is the Client's own transport, closed by Close; nil
	// with WithHTTPClient.
	ownTransport *http.Transport
	// slots[i] bounds the requests in flight to services[i].
	slots []chan struct{}
	// uuids[i] is services[i].UUID, for RendezvousOrder.
	uuids []string
	log   *slog.Logger
}

// NewClient returns a Client for services, sending token with every request
// (as "Authorization: Bearer <token>"; "" sends none). Every service needs a
// UUID of at least 15 characters, unique, an http or https URL with a host,
// and a type ServiceDisk or ServiceProxy ("" means ServiceDisk). Errors wrap
// ErrInvalidService.
func NewClient(services []Service, token string, opts ...ClientOption) (*Client, error) {
	cfg := clientConfig{
		replicas:       DefaultReplicas,
		connectTimeout: DefaultConnectTimeout,
		requestTimeout: DefaultRequestTimeout,
		perServer:      DefaultRequestsPerServer,
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.replicas < 1:
		return nil, fmt.Errorf("keep: replicas must be at least 1, not %d", cfg.replicas)
	case cfg.perServer < 1:
		return nil, fmt.Errorf("keep: requests per server must be at least 1, not %d", cfg.perServer)
	case cfg.connectTimeout <= 0 || cfg.requestTimeout <= 0:
		return nil, fmt.Errorf("keep: timeouts must be positive, not %v and %v", cfg.connectTimeout, cfg.requestTimeout)
	case len(services) == 0:
		return nil, fmt.Errorf("%w: no Keep services", ErrInvalidService)
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, errors.New("keep: the API token contains white space")
	}
	c := &Client{token: token, cfg: cfg, log: cfg.logger}
	if c.log == nil {
		c.log = slog.New(discardHandler{})
	}
	seen := make(map[string]bool, len(services))
	for _, s := range services {
		s, err := checkService(s)
		if err != nil {
			return nil, err
		}
		if seen[s.UUID] {
			return nil, fmt.Errorf("%w: UUID %s listed twice", ErrInvalidService, s.UUID)
		}
		seen[s.UUID] = true
		c.services = append(c.services, s)
		c.uuids = append(c.uuids, s.UUID)
		c.slots = append(c.slots, make(chan struct{}, cfg.perServer))
	}
	if cfg.httpClient != nil {
		c.http = cfg.httpClient
	} else {
		c.ownTransport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: cfg.connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   cfg.connectTimeout,
			MaxIdleConns:          cfg.perServer * len(c.services),
			MaxIdleConnsPerHost:   cfg.perServer,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
			// Large blocks: fewer, larger writes to the socket.
			WriteBufferSize: 256 << 10,
			ReadBufferSize:  256 << 10,
		}
		c.http = &http.Client{Transport: c.ownTransport}
	}
	return c, nil
}

// checkService validates s and returns it with its URL's trailing slash
// removed and its type filled in.
func checkService(s Service) (Service, error) {
	if len(s.UUID) < rendezvousSuffixLen || strings.ContainsAny(s.UUID, " \t\r\n") {
		return s, fmt.Errorf("%w: UUID %q is not at least %d characters without spaces", ErrInvalidService, s.UUID, rendezvousSuffixLen)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return s, fmt.Errorf("%w: %s: %v", ErrInvalidService, s.UUID, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return s, fmt.Errorf("%w: %s: URL %q is not http(s)://host[:port][/path]", ErrInvalidService, s.UUID, s.URL)
	}
	s.URL = strings.TrimRight(s.URL, "/")
	switch s.Type {
	case "":
		s.Type = ServiceDisk
	case ServiceDisk, ServiceProxy:
	default:
		return s, fmt.Errorf("%w: %s: type %q is neither %q nor %q", ErrInvalidService, s.UUID, s.Type, ServiceDisk, ServiceProxy)
	}
	return s, nil
}

// Services returns the Client's services, in the order given to NewClient.
func (c *Client) Services() []Service { return append([]Service(nil), c.services...) }

// Close releases the idle connections of the Client's own transport. Calls
// may still be made after Close; they open new connections.
func (c *Client) Close() error {
	if c.ownTransport != nil {
		c.ownTransport.CloseIdleConnections()
	}
	return nil
}

// maxServiceListItems bounds the services ParseServiceList accepts.
const maxServiceListItems = 10000

// ParseServiceList parses the answer of Arvados' keep_services/accessible
// (or keep_services/list):
//
//	{"items":[{"uuid":…,"service_host":…,"service_port":…,"service_ssl_flag":…,"service_type":…,"read_only":…}]}
//
// Other fields are ignored. Errors wrap ErrInvalidService and name the bad
// item.
func ParseServiceList(jsonBytes []byte) ([]Service, error) {
	var list struct {
		Items *[]struct {
			UUID     string `json:"uuid"`
			Host     string `json:"service_host"`
			Port     int    `json:"service_port"`
			SSL      bool   `json:"service_ssl_flag"`
			Type     string `json:"service_type"`
			ReadOnly bool   `json:"read_only"`
		} `json:"items"`
	}
	if err := json.Unmarshal(jsonBytes, &list); err != nil {
		return nil, fmt.Errorf("%w: service list: %v", ErrInvalidService, err)
	}
	if list.Items == nil {
		return nil, fmt.Errorf("%w: service list has no \"items\"", ErrInvalidService)
	}
	if len(*list.Items) > maxServiceListItems {
		return nil, fmt.Errorf("%w: service list has %d items, more than %d", ErrInvalidService, len(*list.Items), maxServiceListItems)
	}
	services := make([]Service, 0, len(*list.Items))
	for i, it := range *list.Items {
		if it.Host == "" || strings.ContainsAny(it.Host, "/?#@ ") || it.Port < 1 || it.Port > 65535 {
			return nil, fmt.Errorf("%w: service list item %d (%q): host %q port %d", ErrInvalidService, i, it.UUID, it.Host, it.Port)
		}
		scheme := "http"
		if it.SSL {
			scheme = "https"
		}
		s, err := checkService(Service{
			UUID:     it.UUID,
			URL:      scheme + "://" + net.JoinHostPort(it.Host, strconv.Itoa(it.Port)),
			ReadOnly: it.ReadOnly,
			Type:     it.Type,
		})
		if err != nil {
			return nil, fmt.Errorf("service list item %d: %w", i, err)
		}
		services = append(services, s)
	}
	return services, nil
}

// NewClientFromEnv returns a Client configured as the Arvados command-line
// tools configure theirs without an API server: ARVADOS_KEEP_SERVICES holds
// space-separated service URLs, each taken as a proxy (and named
// 00000-bi6l4-<15-digit index> for the rendezvous order), and
// ARVADOS_API_TOKEN the token. Both must be set.
func NewClientFromEnv(opts ...ClientOption) (*Client, error) {
	token := os.Getenv("ARVADOS_API_TOKEN")
	if token == "" {
		return nil, errors.New("keep: ARVADOS_API_TOKEN is not set")
	}
	urls := strings.Fields(os.Getenv("ARVADOS_KEEP_SERVICES"))
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: ARVADOS_KEEP_SERVICES is not set", ErrInvalidService)
	}
	services := make([]Service, len(urls))
	for i, u := range urls {
		services[i] = Service{UUID: fmt.Sprintf("00000-bi6l4-%015d", i), URL: u, Type: ServiceProxy}
	}
	return NewClient(services, token, opts...)
}

// discardHandler is a slog.Handler that drops everything (slog.DiscardHandler
// needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
