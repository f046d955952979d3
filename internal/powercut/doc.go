// Package powercut is a FUSE filesystem for tests that forgets, on command, everything that was
// not made durable, as a power cut does: the proof that the stable store's fsyncs are the right
// ones, in the right order, which a SIGKILL of the process cannot give (a killed process leaves
// the kernel's page cache behind, so every write() it made survives, synced or not).
//
// Mount serves a backing directory at a mount point. Every operation passes through to the
// backing directory at once (reads need no bookkeeping), but the filesystem remembers, per file,
// every write, truncate and allocate since that file's last fsync or fdatasync (with the bytes
// each one overwrote), and per directory every create, mkdir, symlink, link, unlink, rmdir and
// rename since that directory's last fsync (with the files each one removed or replaced, kept
// linked in a hidden directory beside the backing one). Cut freezes the filesystem (every later
// change or sync fails with EIO: the machine is off), unmounts it, and undoes what was held back, newest
// first, leaving in the backing directory exactly what a disk would hold after the cut. Cut may
// keep a seeded random part of what was held back (torn states): a random subset of each file's
// unsynced writes, re-applied in their order of issue, and a random prefix of each directory's
// unsynced changes.
//
// # The model, and why this one
//
// The rules are POSIX's, taken strictly (the model of LazyFS, dsrhaslab/lazyfs, which Jepsen uses
// on etcd and PostgreSQL):
//
//   - fsync and fdatasync of a file make its data and size durable, nothing else: not its name.
//     (fdatasync is treated as fsync: the size is part of what it must make durable.)
//   - A change to a directory's entries is durable once the directory itself is fsynced. A
//     rename is two changes, one in each directory, each made durable by its own directory's
//     fsync; within one directory the two are made durable together.
//   - Nothing else is durable: not a file created, renamed over or unlinked, however long ago.
//
// ext4 (data=ordered) and XFS make more durable than this: ext4 commits a new file's name with the
// file's first fsync, and orders a rename after the data of the file renamed (auto_da_alloc); both
// journal a rename atomically. A store correct under the strict rules is therefore correct on
// both, and on filesystems that promise only POSIX; the converse is not true (a store that skips
// the directory fsync after creating its log passes on ext4 most of the time, and loses its log on
// a filesystem that keeps names in a separate cache). So the strict model is the one that finds the
// bugs users would meet somewhere.
//
// Two simplifications, both outside what the stable store does: a rename of a directory, and
// changes of mode, owner and times, are durable at once; a cross-directory rename of a file can,
// after a cut, leave the file under both names (or neither) if only one of the two directories was
// synced, which is what the strict rules allow. O_TMPFILE, mknod, copy_file_range and the
// fallocate modes that change content (punch hole, zero range, collapse, insert) are refused
// (ENOTSUP, ENOSYS): the kernel falls back to plain writes where it can.
//
// # Requirements
//
// Mounting needs root (or fusermount3) and /dev/fuse. Require reports a missing prerequisite as a
// test failure, never a skip, unless POWERCUT=skip is set explicitly (never set it in CI).
//
// # Using it with a process
//
// A cut can land while a process writes through the mount: call Freeze (from then on nothing
// reaches the disk), kill the process with SIGKILL and wait for it, then Cut. Whatever the process
// printed before it died was printed before the freeze, so every fsync it reported returned
// before the cut. After Cut, the backing directory is the disk after the power came back: open it
// directly, or Mount it again for the next round.
package powercut
