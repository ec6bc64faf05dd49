// Package layercache keeps layer blobs on disk: the compressions layers are
// written in (gzip, zstd, none), a layer whose blob is a file (Layer), the
// content cache that lets a layer of the same files be taken instead of
// written again (Cache), and the file plumbing outputs share with it:
// temporary names, directory locks, and blob copies that never share an
// inode with the cache.
package layercache
