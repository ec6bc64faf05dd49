// Package pyitest writes PyInstaller archives for tests, in the CArchive
// format PyInstaller documents (bootloader/src/pyi_archive.h,
// PyInstaller/archive/writers.py), since PyInstaller itself cannot be
// installed where the tests run. See elfdeps/pyinstaller.go for the format.
package pyitest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
)

// Magic starts the cookie at the end of an archive.
const Magic = "MEI\014\013\012\013\016"

// Entry is one file of an archive.
type Entry struct {
	Name     string
	Type     byte // 'b' binary, 'x' data, 's' script, 'o' option, 'm' module, 'z' PYZ, ...
	Data     []byte
	Compress bool // store it zlib-compressed (cflag 1)
}

// Archive returns the CArchive ("PKG") holding entries, ending with its
// cookie: the bytes PyInstaller appends to (or puts in the "pydata" section
// of) the bootloader. pyvers is 311 for Python 3.11.
func Archive(entries []Entry, pyvers uint32, pylib string) []byte {
	var data, toc bytes.Buffer
	be := binary.BigEndian
	for _, e := range entries {
		stored, flag := e.Data, byte(0)
		if e.Compress {
			var z bytes.Buffer
			zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
			zw.Write(e.Data)
			zw.Close()
			stored, flag = z.Bytes(), 1
		}
		off := data.Len()
		data.Write(stored)
		name := append([]byte(e.Name), 0)
		n := 18 + len(name)
		if pad := (16 - n%16) % 16; pad > 0 {
			name = append(name, make([]byte, pad)...)
		}
		var head [18]byte
		be.PutUint32(head[0:], uint32(18+len(name)))
		be.PutUint32(head[4:], uint32(off))
		be.PutUint32(head[8:], uint32(len(stored)))
		be.PutUint32(head[12:], uint32(len(e.Data)))
		head[16], head[17] = flag, e.Type
		toc.Write(head[:])
		toc.Write(name)
	}
	tocPos := data.Len()
	data.Write(toc.Bytes())
	var cookie [88]byte
	copy(cookie[:], Magic)
	be.PutUint32(cookie[8:], uint32(data.Len()+len(cookie)))
	be.PutUint32(cookie[12:], uint32(tocPos))
	be.PutUint32(cookie[16:], uint32(toc.Len()))
	be.PutUint32(cookie[20:], pyvers)
	copy(cookie[24:], pylib)
	data.Write(cookie[:])
	return data.Bytes()
}
