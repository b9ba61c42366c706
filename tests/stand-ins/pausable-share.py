#!/usr/bin/python3
"""A network share whose server can stop answering, for tests: a FUSE file system that passes
every call through to a backing folder, and holds every call while a pause file exists.

A held call waits in the kernel like one on an NFS hard mount whose server is gone: the caller
gets no error and cannot be interrupted; when the pause file is removed, held calls go on as if
the server had come back. Stands in for an NFS or SMB server, which this machine's kernel cannot
mount. A pause file older than three minutes is ignored, so that a test that died while its
share was paused leaves nothing hung for ever.

While a file PAUSE_FILE.rate holds a number, writes go through at that many bytes a second at
most, all together: a server or link that is slow whatever the machine running the test.

    pausable-share.py BACKING MOUNTPOINT PAUSE_FILE

Runs in the foreground until unmounted (fusermount -u MOUNTPOINT).
"""

import errno
import os
import sys
import threading
import time

import fusepy


class PausableShare(fusepy.Operations):
    def __init__(self, backing, pause_file):
        self.backing = os.path.realpath(backing)
        self.pause_file = pause_file
        self.rate_file = pause_file + ".rate"
        self.rate_lock = threading.Lock()
        self.link_free_at = 0.0

    def __call__(self, operation, path, *args):
        while self.paused():
            time.sleep(0.02)
        if not hasattr(self, operation):
            raise fusepy.FuseOSError(errno.ENOSYS)
        return getattr(self, operation)(self.backing + path, *args)

    def paused(self):
        try:
            return time.time() - os.stat(self.pause_file).st_mtime < 180
        except FileNotFoundError:
            return False

    def access(self, path, mode):
        if not os.access(path, mode):
            raise fusepy.FuseOSError(errno.EACCES)

    def getattr(self, path, fh=None):
        st = os.lstat(path)
        keys = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")
        return {key: getattr(st, key) for key in keys}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(path)

    def statfs(self, path):
        st = os.statvfs(path)
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")
        return {key: getattr(st, key) for key in keys}

    def chmod(self, path, mode):
        os.chmod(path, mode)

    def chown(self, path, uid, gid):
        os.chown(path, uid, gid)

    def utimens(self, path, times=None):
        os.utime(path, times)

    def mkdir(self, path, mode):
        os.mkdir(path, mode)

    def rmdir(self, path):
        os.rmdir(path)

    def unlink(self, path):
        os.unlink(path)

    def rename(self, old, new):
        os.rename(old, self.backing + new)

    def truncate(self, path, length, fh=None):
        os.truncate(path, length)

    def create(self, path, mode, fi=None):
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)

    def open(self, path, flags):
        return os.open(path, flags)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        written = os.pwrite(fh, data, offset)
        self.take_link_time(written)
        return written

    def take_link_time(self, length):
        """Waits as long as the length takes at the rate, after every write before it: the writes of all threads share one link."""
        try:
            with open(self.rate_file) as rate_file:
                rate = float(rate_file.read())
        except (FileNotFoundError, ValueError):
            return
        with self.rate_lock:
            done_at = max(time.monotonic(), self.link_free_at) + length / rate
            self.link_free_at = done_at
        time.sleep(max(0.0, done_at - time.monotonic()))

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh)

    def fsyncdir(self, path, datasync, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: pausable-share.py BACKING MOUNTPOINT PAUSE_FILE")
    fusepy.FUSE(PausableShare(sys.argv[1], sys.argv[3]), sys.argv[2], foreground=True, nothreads=False)
