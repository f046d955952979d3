package wasi

import "encoding/binary"

var le = binary.LittleEndian

// Rights (typenames.witx $rights), one bit each, in witx order.
const (
	rightFdDatasync uint64 = 1 << iota
	rightFdRead
	rightFdSeek
	rightFdFdstatSetFlags
	rightFdSync
	rightFdTell
	rightFdWrite
	rightFdAdvise
	rightFdAllocate
	rightPathCreateDirectory
	rightPathCreateFile
	rightPathLinkSource
	rightPathLinkTarget
	rightPathOpen
	rightFdReaddir
	rightPathReadlink
	rightPathRenameSource
	rightPathRenameTarget
	rightPathFilestatGet
	rightPathFilestatSetSize
	rightPathFilestatSetTimes
	rightFdFilestatGet
	rightFdFilestatSetSize
	rightFdFilestatSetTimes
	rightPathSymlink
	rightPathRemoveDirectory
	rightPathUnlinkFile
	rightPollFdReadwrite
	rightSockShutdown
	rightSockAccept

	rightsAll = rightSockAccept<<1 - 1
)

// rightsFile are the rights that mean something on a regular file; path_open masks the rights a
// guest asks for on a file with it (wasi-libc asks for every right).
const rightsFile = rightFdDatasync | rightFdRead | rightFdSeek | rightFdFdstatSetFlags |
	rightFdSync | rightFdTell | rightFdWrite | rightFdAdvise | rightFdAllocate |
	rightFdFilestatGet | rightFdFilestatSetSize | rightFdFilestatSetTimes | rightPollFdReadwrite

// rightsDir are the rights that mean something on a directory. Neither seek nor tell, read nor
// write: wasi-testsuite and wasi-libc expect directories to advertise exactly these.
const rightsDir = rightFdDatasync | rightFdFdstatSetFlags | rightFdSync |
	rightPathCreateDirectory | rightPathCreateFile | rightPathLinkSource | rightPathLinkTarget |
	rightPathOpen | rightFdReaddir | rightPathReadlink | rightPathRenameSource |
	rightPathRenameTarget | rightPathFilestatGet | rightPathFilestatSetSize |
	rightPathFilestatSetTimes | rightFdFilestatGet | rightFdFilestatSetTimes | rightPathSymlink |
	rightPathRemoveDirectory | rightPathUnlinkFile

// rightsStdin and rightsStdout are the rights of the standard streams: no seek or tell (so that
// wasi-libc's isatty can tell a character device from a file), no sync.
const (
	rightsStdin  = rightFdRead | rightFdFdstatSetFlags | rightFdFilestatGet | rightPollFdReadwrite
	rightsStdout = rightFdWrite | rightFdFdstatSetFlags | rightFdFilestatGet | rightPollFdReadwrite
)

// fdflags (typenames.witx $fdflags).
const (
	fdflagAppend uint16 = 1 << iota
	fdflagDsync
	fdflagNonblock
	fdflagRsync
	fdflagSync

	fdflagsAll = fdflagSync<<1 - 1
)

// oflags (typenames.witx $oflags).
const (
	oflagCreat uint16 = 1 << iota
	oflagDirectory
	oflagExcl
	oflagTrunc

	oflagsAll = oflagTrunc<<1 - 1
)

// lookupflags (typenames.witx $lookupflags).
const lookupSymlinkFollow uint32 = 1

// fstflags (typenames.witx $fstflags).
const (
	fstAtim uint16 = 1 << iota
	fstAtimNow
	fstMtim
	fstMtimNow

	fstAll = fstMtimNow<<1 - 1
)

// whence (typenames.witx $whence).
const (
	whenceSet = 0
	whenceCur = 1
	whenceEnd = 2
)

// clockid (typenames.witx $clockid).
const (
	clockRealtime = iota
	clockMonotonic
	clockProcessCPU
	clockThreadCPU
)

// eventtype (typenames.witx $eventtype).
const (
	eventClock = iota
	eventFdRead
	eventFdWrite
)

// subclockflags.
const subclockAbstime uint16 = 1

// filetype values (typenames.witx $filetype); vfs.FileType uses the same numbers.
const (
	filetypeUnknown   = 0
	filetypeCharDev   = 2
	filetypeDirectory = 3
	filetypeRegular   = 4
)

// Sizes of the records the ABI passes through guest memory.
const (
	sizeFilestat     = 64
	sizeFdstat       = 24
	sizeDirent       = 24
	sizePrestat      = 8
	sizeSubscription = 48
	sizeEvent        = 32
	sizeIovec        = 8
)
