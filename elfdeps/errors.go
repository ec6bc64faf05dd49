package elfdeps

import "errors"

// Sentinel errors that callers branch on; they are wrapped with the file name
// and details, so test them with errors.Is.
var (
	// ErrNotELF means the file is not an ELF object at all.
	ErrNotELF = errors.New("not an ELF file")
	// ErrScript means the file is a "#!" script, run by the interpreter it names.
	ErrScript = errors.New("a script, not a compiled program")
	// ErrCorrupt means the file starts like an ELF object but its structure is broken.
	ErrCorrupt = errors.New("corrupt or truncated ELF file")
	// ErrSymlinkLoop means resolving a path met more than 40 symbolic links.
	ErrSymlinkLoop = errors.New("too many levels of symbolic links")
	// ErrNotRegular means a path names a directory, device, fifo or socket.
	ErrNotRegular = errors.New("not a regular file")
)
