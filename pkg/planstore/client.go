package planstore

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options say how to reach the plan store. One address list covers the three deployments
// go-redis's universal client knows: a MasterName means Sentinel (Addrs are the sentinels), more
// than one address means Cluster, and a single address means one Redis.
//
// The tags name the KEDASTRAL_REDIS_* variables the agent and the gateway read them from
// (pkg/envconf), so both binaries configure Redis the same way.
type Options struct {
	// Addrs are host:port pairs: the server, the sentinels, or some cluster nodes.
	Addrs []string `envconfig:"REDIS_ADDR" required:"true" desc:"comma-separated host:port: one Redis, the Sentinels (with KEDASTRAL_REDIS_MASTER_NAME), or Cluster nodes"`
	// Username and Password authenticate with ACLs (Redis 6+) or, with Username empty, with
	// requirepass.
	Username string `envconfig:"REDIS_USERNAME" desc:"Redis ACL user name"`
	Password string `envconfig:"REDIS_PASSWORD" desc:"Redis password"`
	// DB selects the logical database. Cluster only has DB 0.
	DB int `envconfig:"REDIS_DB" default:"0" desc:"Redis logical database (must be 0 on Cluster)"`
	// MasterName is the Sentinel master set name; empty unless Redis runs under Sentinel.
	MasterName string `envconfig:"REDIS_MASTER_NAME" desc:"Sentinel master set name; set only with Sentinel"`
	// TLS turns on TLS 1.2 or later, verified against the system roots and the host of each
	// address.
	TLS bool `envconfig:"REDIS_TLS" default:"false" desc:"connect to Redis over TLS (1.2 or later)"`
	// Prefix starts every key and channel name (see New); agents and gateway must agree on it.
	Prefix string `envconfig:"REDIS_PREFIX" default:"kedastral" desc:"prefix of Kedastral's Redis keys; agents and gateway must agree"`
	// DialTimeout, ReadTimeout and WriteTimeout bound each connect, socket read and socket write;
	// zero keeps go-redis's default of 5s for each.
	DialTimeout  time.Duration `ignored:"true"`
	ReadTimeout  time.Duration `ignored:"true"`
	WriteTimeout time.Duration `ignored:"true"`
}

// Validate reports every problem with the options, each naming its KEDASTRAL_REDIS_* variable.
// Variables whose keys are in skip (already reported as missing or unparsable) are not judged.
func (o Options) Validate(skip map[string]bool) []error {
	var errs []error
	add := func(key, format string, a ...any) {
		if !skip[key] {
			errs = append(errs, fmt.Errorf(key+" "+format, a...))
		}
	}
	if len(o.Addrs) == 0 {
		add("KEDASTRAL_REDIS_ADDR", "must name at least one host:port (got none)")
	}
	for _, a := range o.Addrs {
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.ParseUint(port, 10, 16); err != nil || host == "" || perr != nil || n == 0 {
			add("KEDASTRAL_REDIS_ADDR", "must be a comma-separated list of host:port (got %q)", a)
		}
	}
	switch cluster := len(o.Addrs) > 1 && o.MasterName == ""; {
	case o.DB < 0:
		add("KEDASTRAL_REDIS_DB", "must be >= 0 (got %d)", o.DB)
	case cluster && o.DB != 0:
		add("KEDASTRAL_REDIS_DB", "must be 0 with Redis Cluster (several KEDASTRAL_REDIS_ADDR and no KEDASTRAL_REDIS_MASTER_NAME) (got %d)", o.DB)
	}
	if o.Prefix == "" || strings.ContainsAny(o.Prefix, "{} \t\r\n") {
		add("KEDASTRAL_REDIS_PREFIX", "must be non-empty, without braces or white space, which would break the Cluster hash tag (got %q)", o.Prefix)
	}
	return errs
}

// NewClient builds the client for o. It does not connect: go-redis dials on first use and
// reconnects on its own, so a Redis that is down at start-up shows as errors from the first
// calls rather than from NewClient.
//
// Context deadlines are honoured on the socket (ContextTimeoutEnabled), because callers such as
// the gateway bound every read with one and must get an answer in time even when Redis hangs.
func NewClient(o Options) redis.UniversalClient {
	var tlsConfig *tls.Config
	if o.TLS {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 o.Addrs,
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		MasterName:            o.MasterName,
		TLSConfig:             tlsConfig,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: true,
	})
}
