/* The C baseline for bench/run.js: the same work over mmap(2), compiled on the
 * spot with -O3 -march=native. Each mode prints one number.
 *   openclose PATH N        microseconds per open + mmap + munmap + close (read-only)
 *   sum PATH                seconds for a float32 sum of the whole file (SIMD)
 *   random PATH N SEED      seconds to open, map with MADV_RANDOM, make N scattered 4-byte reads, unmap, close
 *   create PATH BYTES STEP  seconds to create, fallocate, touch every STEP bytes, msync, close
 *   sparse PATH BYTES N     microseconds per create + ftruncate + mmap (numpy's w+) of N files in a row; then
 *                           munmap, close, unlink of them all, untimed
 *   reserve PATH BYTES      seconds to grow PATH by BYTES: ftruncate + fallocate of the new part
 *   resident PATH           bytes of PATH in the page cache (mincore)
 *   evict PATH              drops PATH from the page cache (POSIX_FADV_DONTNEED)
 *   copy PATH THREADS       seconds to copy the whole file (mapped, page tables filled) into fresh
 *                           memory (huge pages asked for, as numpy and memmap do) on
 *                           THREADS threads, as memmap copies (2 MiB steps, each backward), then free it
 *   append PATH BYTES BLOCK seconds to append BYTES in BLOCK-byte pwrites after a 128-byte header,
 *                           each followed by a pwrite of the header (and preceded by an fstat), as
 *                           a crash-consistent .npy append must; the file is created untimed
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static size_t size_of(int fd) {
  struct stat st;
  fstat(fd, &st);
  return (size_t)st.st_size;
}

struct part {
  char *to;
  const char *from;
  size_t len;
};

/* As memmap's copy_in_steps (copy.rs): one huge page at a time, each from its last word to its
   first. One memcpy of a whole share is past glibc's non-temporal threshold and streams its
   stores; forward memcpy in huge-page steps depends on how the source sits against the target
   within a page; backward steps measured fastest for both. */
static void copy_backward(char *to, const char *from, size_t n) {
  size_t i = n;
  while (i > 0 && ((size_t)(to + i) & 7)) i--, to[i] = from[i];
  for (; i >= 32; ) {
    unsigned long long w[4];
    i -= 32;
    memcpy(w, from + i, 32);
    memcpy(to + i, w, 32);
  }
  while (i > 0) i--, to[i] = from[i];
}

static void *copy_part(void *arg) {
  struct part *p = arg;
  const size_t step = 2 << 20;
  for (size_t at = 0; at < p->len; at += step) copy_backward(p->to + at, p->from + at, p->len - at < step ? p->len - at : step);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *mode = argv[1], *path = argv[2];
  if (!strcmp(mode, "openclose")) {
    long n = atol(argv[3]);
    double t = now();
    for (long i = 0; i < n; i++) {
      int fd = open(path, O_RDONLY);
      size_t len = size_of(fd);
      void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
      munmap(p, len);
      close(fd);
    }
    printf("%.4f\n", (now() - t) / n * 1e6);
  } else if (!strcmp(mode, "sum")) {
    int fd = open(path, O_RDONLY);
    size_t len = size_of(fd);
    const float *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    size_t n = len / 4;
    double s = 0, dt = 0;
    /* Twice over the same map, timing the second: the page tables are then
       filled, as for memmap's and numpy's timed (second) sums. Sixteen lanes
       vectorise under -O3 -march=native; the prefetch 1 KiB ahead is what
       keeps the loads coming across 4 KiB page edges (hardware prefetchers
       stop there): about 15.5 -> 19.7 GB/s on the machine in results.md. */
    for (int round = 0; round < 2; round++) {
      double t = now();
      float acc[16] = {0};
      size_t i = 0;
      for (; i + 16 <= n; i += 16) {
        __builtin_prefetch((const char *)(p + i) + 1024);
        for (int k = 0; k < 16; k++) acc[k] += p[i + k];
      }
      s = 0;
      for (int k = 0; k < 16; k++) s += acc[k];
      for (; i < n; i++) s += p[i];
      dt = now() - t;
    }
    fprintf(stderr, "sum %f\n", s);
    printf("%.6f\n", dt);
  } else if (!strcmp(mode, "random")) {
    long n = atol(argv[3]);
    unsigned long long x = strtoull(argv[4], NULL, 10) | 1;
    /* Open to close, as memmap's side is timed: the munmap of 64 GiB with a
       thousand pages touched is part of the cost for both. */
    double t = now(), s = 0;
    int fd = open(path, O_RDONLY);
    size_t len = size_of(fd);
    const float *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    madvise((void *)p, len, MADV_RANDOM);
    for (long i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      s += p[x % (len / 4)];
    }
    munmap((void *)p, len);
    close(fd);
    double dt = now() - t;
    fprintf(stderr, "sum %f\n", s);
    printf("%.6f\n", dt);
  } else if (!strcmp(mode, "create")) {
    size_t bytes = strtoull(argv[3], NULL, 10), step = strtoull(argv[4], NULL, 10);
    double t = now();
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ftruncate(fd, bytes);
    fallocate(fd, 0, 0, bytes);
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    for (size_t i = 0; i < bytes; i += step) p[i] = 1;
    msync(p, bytes, MS_SYNC);
    fdatasync(fd);
    munmap(p, bytes);
    close(fd);
    printf("%.6f\n", now() - t);
  } else if (!strcmp(mode, "sparse")) {
    /* N files PATH.0 ... PATH.N-1 made and mapped (timed), then all unmapped,
       closed and removed (untimed), as the bench does with memmap. */
    size_t bytes = strtoull(argv[3], NULL, 10);
    long n = atol(argv[4]);
    double spent = 0;
    int *fds = malloc(n * sizeof(int));
    void **maps = malloc(n * sizeof(void *));
    char name[4096];
    for (long i = 0; i < n; i++) {
      snprintf(name, sizeof name, "%s.%ld", path, i);
      double t = now();
      fds[i] = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
      ftruncate(fds[i], bytes);
      maps[i] = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
      spent += now() - t;
    }
    for (long i = 0; i < n; i++) {
      snprintf(name, sizeof name, "%s.%ld", path, i);
      munmap(maps[i], bytes);
      close(fds[i]);
      unlink(name);
    }
    printf("%.4f\n", spent / n * 1e6);
  } else if (!strcmp(mode, "reserve")) {
    size_t bytes = strtoull(argv[3], NULL, 10);
    int fd = open(path, O_RDWR);
    size_t old = size_of(fd);
    double t = now();
    ftruncate(fd, old + bytes);
    fallocate(fd, 0, old, bytes);
    printf("%.6f\n", now() - t);
    close(fd);
  } else if (!strcmp(mode, "resident")) {
    int fd = open(path, O_RDONLY);
    size_t len = size_of(fd), page = sysconf(_SC_PAGESIZE), pages = (len + page - 1) / page, count = 0;
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *vec = malloc(pages);
    mincore(p, len, vec);
    for (size_t i = 0; i < pages; i++) count += vec[i] & 1;
    printf("%zu\n", count * page);
  } else if (!strcmp(mode, "copy")) {
    int threads = atoi(argv[3]);
    if (threads < 1 || threads > 64) return 2;
    int fd = open(path, O_RDONLY);
    size_t len = size_of(fd);
    const char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    double dt = 0;
    /* Twice, timing the second: the first fills the file map's page tables
       (memmap's and numpy's timed calls come after a warm-up too). */
    for (int round = 0; round < 2; round++) {
      double t = now();
      char *to = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      madvise(to, len, MADV_HUGEPAGE);
      pthread_t ids[64];
      struct part parts[64];
      size_t each = (len / threads + 4095) & ~(size_t)4095;
      for (int i = 0; i < threads; i++) {
        size_t start = each * i < len ? each * i : len;
        size_t end = start + each < len ? start + each : len;
        parts[i] = (struct part){to + start, p + start, end - start};
        pthread_create(&ids[i], NULL, copy_part, &parts[i]);
      }
      for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
      dt = now() - t;
      munmap(to, len);
    }
    printf("%.6f\n", dt);
  } else if (!strcmp(mode, "append")) {
    size_t bytes = strtoull(argv[3], NULL, 10), block = strtoull(argv[4], NULL, 10);
    char header[128], *rows = malloc(block);
    memset(header, ' ', sizeof header);
    for (size_t i = 0; i < block; i++) rows[i] = (char)i;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    pwrite(fd, header, sizeof header, 0);
    double t = now();
    for (size_t at = 0; at + block <= bytes; at += block) {
      struct stat st;
      fstat(fd, &st);
      if (pwrite(fd, rows, block, sizeof header + at) != (ssize_t)block) return 1;
      pwrite(fd, header, sizeof header, 0);
    }
    printf("%.6f\n", now() - t);
    close(fd);
    unlink(path);
  } else if (!strcmp(mode, "evict")) {
    int fd = open(path, O_RDONLY);
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    printf("0\n");
  } else {
    return 2;
  }
  return 0;
}
