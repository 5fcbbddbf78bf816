/*
 * faultfs: an LD_PRELOAD shim for the reliability tests (test/reliability/
 * fault-injection.test.ts). It makes the file system fail under a path
 * prefix the way a failing disk does, at the C library boundary that LevelDB
 * calls, so the server's real storage path meets real errno values:
 *
 *   THEMIS_FAULTFS_CONTROL=<file>   read before each intercepted call; one line:
 *     (empty)                       no faults
 *     enospc <prefix>               writes (write/pwrite/writev, and stdio's fwrite/fflush) to
 *                                   files under <prefix> fail with ENOSPC
 *     eio-write <prefix>            ... fail with EIO
 *     eio-fsync <prefix>            fsync/fdatasync of files under <prefix> fail with EIO
 *
 * Never loaded by the server itself; tests build it with the system C
 * compiler and start the server with LD_PRELOAD. Only regular files whose
 * path starts with the prefix are affected (sockets, pipes and the log stay
 * untouched).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* glibc may define these as macros (bits/stdio.h); the shim defines the functions themselves. */
#undef fwrite_unlocked
#undef fflush_unlocked

enum mode { NONE, ENOSPC_WRITE, EIO_WRITE, EIO_FSYNC };

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static ssize_t (*real_read)(int, void *, size_t);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static size_t (*real_fwrite_unlocked)(const void *, size_t, size_t, FILE *);
static int (*real_fflush)(FILE *);
static int (*real_fflush_unlocked)(FILE *);

__attribute__((constructor)) static void init(void) {
  real_write = dlsym(RTLD_NEXT, "write");
  real_pwrite = dlsym(RTLD_NEXT, "pwrite");
  real_writev = dlsym(RTLD_NEXT, "writev");
  real_fsync = dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
  real_read = dlsym(RTLD_NEXT, "read");
  real_fwrite = dlsym(RTLD_NEXT, "fwrite");
  real_fwrite_unlocked = dlsym(RTLD_NEXT, "fwrite_unlocked");
  real_fflush = dlsym(RTLD_NEXT, "fflush");
  real_fflush_unlocked = dlsym(RTLD_NEXT, "fflush_unlocked");
}

/* The mode and prefix now (the control file is re-read on every call: tests flip it at any time). */
static enum mode current(char *prefix, size_t cap) {
  const char *ctl = getenv("THEMIS_FAULTFS_CONTROL");
  if (!ctl) return NONE;
  int fd = open(ctl, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NONE;
  char buf[4096];
  ssize_t n = real_read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return NONE;
  buf[n] = 0;
  char word[32];
  prefix[0] = 0;
  if (sscanf(buf, "%31s %4095s", word, prefix) != 2) return NONE;
  (void)cap;
  if (strcmp(word, "enospc") == 0) return ENOSPC_WRITE;
  if (strcmp(word, "eio-write") == 0) return EIO_WRITE;
  if (strcmp(word, "eio-fsync") == 0) return EIO_FSYNC;
  return NONE;
}

/* Whether fd is a regular file under prefix. */
static int under(int fd, const char *prefix) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  return strncmp(path, prefix, strlen(prefix)) == 0;
}

static int write_fault(int fd) {
  char prefix[4096];
  enum mode m = current(prefix, sizeof prefix);
  if ((m == ENOSPC_WRITE || m == EIO_WRITE) && under(fd, prefix)) {
    errno = m == ENOSPC_WRITE ? ENOSPC : EIO;
    return 1;
  }
  return 0;
}

static int sync_fault(int fd) {
  char prefix[4096];
  if (current(prefix, sizeof prefix) == EIO_FSYNC && under(fd, prefix)) {
    errno = EIO;
    return 1;
  }
  return 0;
}

ssize_t write(int fd, const void *buf, size_t count) {
  if (fd > 2 && write_fault(fd)) return -1;
  return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
  if (fd > 2 && write_fault(fd)) return -1;
  return real_pwrite(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  if (fd > 2 && write_fault(fd)) return -1;
  return real_writev(fd, iov, iovcnt);
}

int fsync(int fd) {
  if (sync_fault(fd)) return -1;
  return real_fsync(fd);
}

int fdatasync(int fd) {
  if (sync_fault(fd)) return -1;
  return real_fdatasync(fd);
}

/*
 * The LevelDB that classic-level ships writes its log and tables through
 * stdio (fwrite_unlocked + fflush_unlocked): glibc's own write inside fflush
 * is not interposable, so the streams are failed here, before anything is
 * buffered, as a full disk would fail them.
 */
size_t fwrite(const void *ptr, size_t size, size_t n, FILE *f) {
  if (f && fileno(f) > 2 && write_fault(fileno(f))) return 0;
  return real_fwrite(ptr, size, n, f);
}

size_t fwrite_unlocked(const void *ptr, size_t size, size_t n, FILE *f) {
  if (f && fileno(f) > 2 && write_fault(fileno(f))) return 0;
  return real_fwrite_unlocked(ptr, size, n, f);
}

int fflush(FILE *f) {
  if (f && fileno(f) > 2 && write_fault(fileno(f))) return EOF;
  return real_fflush(f);
}

int fflush_unlocked(FILE *f) {
  if (f && fileno(f) > 2 && write_fault(fileno(f))) return EOF;
  return real_fflush_unlocked(f);
}
