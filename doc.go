// Package arvfile stores files as Arvados collections: each file is a list
// of segments over content-addressed Keep blocks, and a collection is saved
// as manifest text. An Engine runs the actors that own files and buffer
// blocks; Collection and File are its plain synchronous API.
//
// # Coming from the Python SDK
//
// A File is both of the Python SDK's ArvadosFileReader and ArvadosFileWriter
// (and the ArvadosFile behind them); it implements io.Reader, io.ReaderAt,
// io.Writer, io.WriterAt, io.StringWriter, io.Seeker, io.Closer,
// io.ReaderFrom and io.WriterTo, so the standard library's helpers
// (io.ReadAll, io.Copy, bufio.Scanner, http.ServeContent) work on it, and
// io.Copy into or out of a File moves 1 MiB per call. The Python calls and their Go equivalents:
//
//	Python (arvados.arvfile, arvados.collection)   Go (f *File, c *Collection)
//	---------------------------------------------  ---------------------------------------------------
//	c.open(path, mode)                             c.OpenMode(path, mode); or c.Open, c.Create, c.OpenFile
//	f.seek(pos, whence)                            f.Seek(pos, whence)  (io.SeekStart, io.SeekCurrent, io.SeekEnd)
//	f.tell()                                       f.Seek(0, io.SeekCurrent)
//	f.read(size)                                   f.Read(p)  (len(p) = size; io.ReadFull for exactly size)
//	f.readfrom(offset, size)                       f.ReadAt(p, offset)  (leaves the offset alone)
//	f.readline(size)                               f.ReadLine(size)  (0: no limit)
//	f.readlines(sizehint)                          f.ReadLines(sizeHint)  (0: no hint)
//	for line in f                                  for line, err := range f.Lines()
//	f.readall(size)                                for chunk, err := range f.Chunks(size); or io.ReadAll(f)
//	f.readall_decompressed(size), f.decompress     f.DecompressedReader()  (gzip for .gz, bzip2 for .bz2)
//	f.decompressed_name()                          f.DecompressedName()
//	f.write(data)                                  f.Write(data), f.WriteString(s)
//	f.writelines(seq)                              for _, s := range seq { f.WriteString(s) }
//	arvadosfile.writeto(offset, data)              f.WriteAt(data, offset)
//	f.truncate(size)                               f.Truncate(size)
//	f.truncate()  (at the current position)        pos, _ := f.Seek(0, io.SeekCurrent); f.Truncate(pos)
//	f.size()                                       f.Size()
//	f.name                                         f.Name()
//	f.flush()                                      f.Sync()
//	f.close()  (flush=True, the default)           f.Sync(), then f.Close()
//	f.close(flush=False)                           f.Close()  (a small file waits to be packed; see Close)
//	arvadosfile.manifest_text(stream, portable,    f.ManifestText(ctx, stream, ManifestOptions{Stripped: portable,
//	    normalize, only_committed)                     OnlyCommitted: only}); c.FileManifestText by path
//	arvadosfile == other                           f.Equal(other)
//	c.copy(src, dst, overwrite=False)              c.Copy(src, dst); c.Copy(src, dst, Overwrite()) to overwrite
//	c.manifest_text(strip, normalize, only_comm.)  c.ManifestText(ctx, ManifestOptions{…})
//	c.portable_data_hash()                         c.PortableDataHash(ctx)
//	arvadosfile.permission_expired(as_of)          c.PermissionExpired(ctx, asOf)  (any file of c)
//
// Errors are Go errors rather than Python exceptions: where Python raises
// IOError with an errno, the Go call returns a *fs.PathError wrapping the
// matching fs.Err… value or syscall errno (fs.ErrNotExist for ENOENT,
// fs.ErrExist for EEXIST, syscall.EISDIR, …), testable with errors.Is.
//
// # Manifests
//
// LoadCollection reads every manifest the Arvados manifest format allows,
// as the Python SDK reads it: any locator hint matching
// `+[A-Z][-A-Za-z0-9@_]*` (a permission hint it cannot interpret is kept as
// an opaque signature), and names in which only `\` followed by three octal
// digits `[0-3][0-7][0-7]` is an escape (any other backslash is a literal
// one). Manifest text written here escapes every literal backslash as
// `\134`, so it reads back the same anywhere.
package arvfile
