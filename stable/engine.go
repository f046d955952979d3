package stable

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wasmrun/wasmrun/stable/internal/kv"
	"github.com/wasmrun/wasmrun/stable/internal/kv/etcdkv"
)

// EtcdOptions are what a store in an etcd cluster needs beyond its URL. Credentials never go
// in the URL (it is printed). Fields left empty are taken from etcdctl's environment
// variables, as etcdctl users expect: ETCDCTL_CERT, ETCDCTL_KEY, ETCDCTL_CACERT,
// ETCDCTL_USER ("USER" or "USER:PASSWORD") and ETCDCTL_PASSWORD.
type EtcdOptions struct {
	// CertFile and KeyFile are a client certificate and its key, CAFile the authority that
	// signed the cluster's certificates (etcdctl's --cert, --key and --cacert); any of them
	// turns TLS on.
	CertFile, KeyFile, CAFile string
	// Username and Password authenticate to a cluster with authentication on.
	Username, Password string
	// LeaseTTL is the time-to-live of the store's lock: a writer that stops renewing it (dead,
	// paused, cut off) loses the store this long after (0: etcdkv's default, 10 s).
	LeaseTTL time.Duration
}

// IsURL reports whether where names a store in an etcd cluster ("etcd://...") rather than a
// file.
func IsURL(where string) bool { return strings.HasPrefix(where, "etcd://") }

// openEtcd opens the store at the etcd URL where: a store with no keys yet is a new, empty
// one, which a read-write open initialises (its superblock and root directory, in one
// commit).
func openEtcd(where string, opts Options, ver *uint32) (kv.Store, error) {
	eps, name, err := etcdkv.ParseURL(where)
	if err != nil {
		return nil, err
	}
	opts.Etcd = opts.Etcd.withEnv()
	fresh := false
	s, err := etcdkv.Open(etcdkv.Config{
		Endpoints:   eps,
		Name:        name,
		Buckets:     bucketSpecs,
		ReadOnly:    opts.ReadOnly,
		LockTimeout: max(opts.LockTimeout, 0),
		LeaseTTL:    opts.Etcd.LeaseTTL,
		CertFile:    opts.Etcd.CertFile,
		KeyFile:     opts.Etcd.KeyFile,
		CAFile:      opts.Etcd.CAFile,
		Username:    opts.Etcd.Username,
		Password:    opts.Etcd.Password,
		Fault:       opts.fault,
		Accept: func(r kv.Reader) (err error) {
			if !r.Exists(bSuper) {
				fresh = true
				return nil
			}
			*ver, err = checkVersion(r)
			return err
		},
	})
	if err != nil {
		var le *etcdkv.LockedError
		if errors.As(err, &le) {
			return nil, lockedBy(le.Holder)
		}
		return nil, storeError(err)
	}
	if fresh {
		if opts.ReadOnly {
			_ = s.Close()
			return nil, fmt.Errorf("%w: no store named %q in the cluster", ErrNotStore, name)
		}
		err := s.Update(func(w kv.Writer) error { return initStore(w, opts.PageSize) })
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		*ver = formatVersion
	}
	return s, nil
}

// lockedBy is ErrLocked naming the holder: "store is in use by HOST (pid N) since T".
type lockedBy string

func (e lockedBy) Error() string        { return "store is in use by " + string(e) }
func (e lockedBy) Is(target error) bool { return target == ErrLocked }

// withEnv fills the empty fields of o from etcdctl's environment variables.
func (o EtcdOptions) withEnv() EtcdOptions {
	env := func(field *string, name string) {
		if *field == "" {
			*field = os.Getenv(name)
		}
	}
	env(&o.CertFile, "ETCDCTL_CERT")
	env(&o.KeyFile, "ETCDCTL_KEY")
	env(&o.CAFile, "ETCDCTL_CACERT")
	if o.Username == "" {
		user := os.Getenv("ETCDCTL_USER")
		if u, p, ok := strings.Cut(user, ":"); ok {
			user = u
			if o.Password == "" {
				o.Password = p
			}
		}
		o.Username = user
	}
	env(&o.Password, "ETCDCTL_PASSWORD")
	return o
}

// redact returns where with the user information of an etcd URL (which ParseURL refuses)
// cut out, for messages.
func redact(where string) string {
	rest, ok := strings.CutPrefix(where, "etcd://")
	if !ok {
		return where
	}
	hosts, name, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(hosts, "@"); i >= 0 {
		return "etcd://" + hosts[i+1:] + "/" + name
	}
	return where
}
