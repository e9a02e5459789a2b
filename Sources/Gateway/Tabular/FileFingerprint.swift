#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `stat` says about a file: enough to notice that it was replaced or rewritten
/// (a new inode from `mv`, or a new size or modification time from an in-place write).
struct FileFingerprint: Sendable, Hashable, CustomStringConvertible {
    var path: String
    var exists: Bool
    var size: Int64
    var modifiedNanoseconds: Int64
    var inode: UInt64

    init(path: String) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            exists = false
            size = -1
            modifiedNanoseconds = 0
            inode = 0
            return
        }
        exists = true
        size = Int64(info.st_size)
        #if canImport(Darwin)
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        #else
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        #endif
        inode = UInt64(info.st_ino)
    }

    var description: String { "\(path):\(size):\(modifiedNanoseconds):\(inode)" }
}
