package wasi

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wasmrun/wasmrun/vfs"
)

// ModuleName is the import module name of WASI preview1.
const ModuleName = "wasi_snapshot_preview1"

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one import: its witx name, its core-wasm signature with the parameter names wazero's
// logging listener understands (so experimental/logging prints our calls the way it prints its
// own WASI), and the Go body. The body decodes its own []uint64 stack and returns a vfs.Errno;
// the adapter (Call) finds the Process, translates the vfs.Errno to WASI's number (toErrno, the
// one place handlers' errors are translated) and writes it back. No reflection.
type hostFunc struct {
	name   string
	params []api.ValueType
	names  []string
	fn     func(ctx context.Context, mod api.Module, p *Process, stack []uint64) vfs.Errno
}

// Call implements api.GoModuleFunction. mod is the calling guest, whose memory the pointers
// refer to. Without a Process in ctx the call fails with ENOSYS, never a nil dereference. With
// tracing off (Config.Trace nil) the only cost of tracing is the one nil check here.
//
// A done ctx ends the guest at its next host call (see exitGuest), so a deadline or a
// cancellation stops every guest that calls the host, even when the runtime does not compile
// wazero's interrupt checks into guest code. The check is a non-blocking receive on ctx.Done().
func (f *hostFunc) Call(ctx context.Context, mod api.Module, stack []uint64) {
	p := processFrom(ctx)
	if p == nil {
		stack[0] = uint64(errNosys)
		return
	}
	if done := ctx.Done(); done != nil {
		select {
		case <-done:
			exitGuest(ctx, mod)
		default:
		}
	}
	if p.trace != nil {
		f.tracedCall(ctx, mod, p, stack)
		return
	}
	stack[0] = uint64(toErrno(f.fn(ctx, mod, p, stack)))
}

// functions are the imports in witx order (wasi_snapshot_preview1.witx); proc_exit, which
// returns nothing, is registered separately in its place.
var functions = [...]hostFunc{
	{"args_get", []api.ValueType{i32, i32}, []string{"argv", "argv_buf"}, argsGet},
	{"args_sizes_get", []api.ValueType{i32, i32}, []string{"result.argc", "result.argv_len"}, argsSizesGet},
	{"environ_get", []api.ValueType{i32, i32}, []string{"environ", "environ_buf"}, environGet},
	{"environ_sizes_get", []api.ValueType{i32, i32}, []string{"result.environc", "result.environv_len"}, environSizesGet},
	{"clock_res_get", []api.ValueType{i32, i32}, []string{"id", "result.resolution"}, clockResGet},
	{"clock_time_get", []api.ValueType{i32, i64, i32}, []string{"id", "precision", "result.timestamp"}, clockTimeGet},
	{"fd_advise", []api.ValueType{i32, i64, i64, i32}, []string{"fd", "offset", "len", "advice"}, fdAdvise},
	{"fd_allocate", []api.ValueType{i32, i64, i64}, []string{"fd", "offset", "len"}, fdAllocate},
	{"fd_close", []api.ValueType{i32}, []string{"fd"}, fdClose},
	{"fd_datasync", []api.ValueType{i32}, []string{"fd"}, fdDatasync},
	{"fd_fdstat_get", []api.ValueType{i32, i32}, []string{"fd", "result.stat"}, fdFdstatGet},
	{"fd_fdstat_set_flags", []api.ValueType{i32, i32}, []string{"fd", "flags"}, fdFdstatSetFlags},
	{"fd_fdstat_set_rights", []api.ValueType{i32, i64, i64}, []string{"fd", "fs_rights_base", "fs_rights_inheriting"}, fdFdstatSetRights},
	{"fd_filestat_get", []api.ValueType{i32, i32}, []string{"fd", "result.filestat"}, fdFilestatGet},
	{"fd_filestat_set_size", []api.ValueType{i32, i64}, []string{"fd", "size"}, fdFilestatSetSize},
	{"fd_filestat_set_times", []api.ValueType{i32, i64, i64, i32}, []string{"fd", "atim", "mtim", "fst_flags"}, fdFilestatSetTimes},
	{"fd_pread", []api.ValueType{i32, i32, i32, i64, i32}, []string{"fd", "iovs", "iovs_len", "offset", "result.nread"}, fdPread},
	{"fd_prestat_get", []api.ValueType{i32, i32}, []string{"fd", "result.prestat"}, fdPrestatGet},
	{"fd_prestat_dir_name", []api.ValueType{i32, i32, i32}, []string{"fd", "result.path", "result.path_len"}, fdPrestatDirName},
	{"fd_pwrite", []api.ValueType{i32, i32, i32, i64, i32}, []string{"fd", "iovs", "iovs_len", "offset", "result.nwritten"}, fdPwrite},
	{"fd_read", []api.ValueType{i32, i32, i32, i32}, []string{"fd", "iovs", "iovs_len", "result.nread"}, fdRead},
	{"fd_readdir", []api.ValueType{i32, i32, i32, i64, i32}, []string{"fd", "buf", "buf_len", "cookie", "result.bufused"}, fdReaddir},
	{"fd_renumber", []api.ValueType{i32, i32}, []string{"fd", "to"}, fdRenumber},
	{"fd_seek", []api.ValueType{i32, i64, i32, i32}, []string{"fd", "offset", "whence", "result.newoffset"}, fdSeek},
	{"fd_sync", []api.ValueType{i32}, []string{"fd"}, fdSync},
	{"fd_tell", []api.ValueType{i32, i32}, []string{"fd", "result.offset"}, fdTell},
	{"fd_write", []api.ValueType{i32, i32, i32, i32}, []string{"fd", "iovs", "iovs_len", "result.nwritten"}, fdWrite},
	{"path_create_directory", []api.ValueType{i32, i32, i32}, []string{"fd", "path", "path_len"}, pathCreateDirectory},
	{"path_filestat_get", []api.ValueType{i32, i32, i32, i32, i32}, []string{"fd", "flags", "path", "path_len", "result.filestat"}, pathFilestatGet},
	{"path_filestat_set_times", []api.ValueType{i32, i32, i32, i32, i64, i64, i32}, []string{"fd", "flags", "path", "path_len", "atim", "mtim", "fst_flags"}, pathFilestatSetTimes},
	{"path_link", []api.ValueType{i32, i32, i32, i32, i32, i32, i32}, []string{"old_fd", "old_flags", "old_path", "old_path_len", "new_fd", "new_path", "new_path_len"}, pathLink},
	{"path_open", []api.ValueType{i32, i32, i32, i32, i32, i64, i64, i32, i32}, []string{"fd", "dirflags", "path", "path_len", "oflags", "fs_rights_base", "fs_rights_inheriting", "fdflags", "result.opened_fd"}, pathOpen},
	{"path_readlink", []api.ValueType{i32, i32, i32, i32, i32, i32}, []string{"fd", "path", "path_len", "buf", "buf_len", "result.bufused"}, pathReadlink},
	{"path_remove_directory", []api.ValueType{i32, i32, i32}, []string{"fd", "path", "path_len"}, pathRemoveDirectory},
	{"path_rename", []api.ValueType{i32, i32, i32, i32, i32, i32}, []string{"fd", "old_path", "old_path_len", "new_fd", "new_path", "new_path_len"}, pathRename},
	{"path_symlink", []api.ValueType{i32, i32, i32, i32, i32}, []string{"old_path", "old_path_len", "fd", "new_path", "new_path_len"}, pathSymlink},
	{"path_unlink_file", []api.ValueType{i32, i32, i32}, []string{"fd", "path", "path_len"}, pathUnlinkFile},
	{"poll_oneoff", []api.ValueType{i32, i32, i32, i32}, []string{"in", "out", "nsubscriptions", "result.nevents"}, pollOneoff},
	// proc_exit goes here.
	{"proc_raise", []api.ValueType{i32}, []string{"sig"}, procRaise},
	{"sched_yield", nil, nil, schedYield},
	{"random_get", []api.ValueType{i32, i32}, []string{"buf", "buf_len"}, randomGet},
	{"sock_accept", []api.ValueType{i32, i32, i32}, []string{"fd", "flags", "result.fd"}, sockAccept},
	{"sock_recv", []api.ValueType{i32, i32, i32, i32, i32, i32}, []string{"fd", "ri_data", "ri_data_len", "ri_flags", "result.ro_datalen", "result.ro_flags"}, sockRecv},
	{"sock_send", []api.ValueType{i32, i32, i32, i32, i32}, []string{"fd", "si_data", "si_data_len", "si_flags", "result.so_datalen"}, sockSend},
	{"sock_shutdown", []api.ValueType{i32, i32}, []string{"fd", "how"}, sockShutdown},
}

// Instantiate defines the wasi_snapshot_preview1 host module and instantiates it in r, once per
// wazero runtime; every guest module instantiated in r afterwards can import it. Each guest's
// calls are served by the Process its context carries (WithProcess). Close the returned Closer
// (or r) to remove the module. The error is wazero's (for example, the module already exists).
func Instantiate(ctx context.Context, r wazero.Runtime) (api.Closer, error) {
	b := r.NewHostModuleBuilder(ModuleName)
	for i := range functions {
		f := &functions[i]
		if f.name == "proc_raise" {
			b.NewFunctionBuilder().
				WithGoModuleFunction(api.GoModuleFunc(procExitEntry), []api.ValueType{i32}, nil).
				WithParameterNames("rval").
				Export("proc_exit")
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(f, f.params, []api.ValueType{i32}).
			WithParameterNames(f.names...).
			WithResultNames("errno").
			Export(f.name)
	}
	return b.Instantiate(ctx)
}
