/* Helpers shared by the fuzz targets (see fuzz.h). */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SLOTS = 4 };
static int mem_fd[SLOTS] = {-1, -1, -1, -1};
static char mem_path[SLOTS][64];

const char *fuzz_file(int slot, const uint8_t *data, size_t size)
{
    if (slot < 0 || slot >= SLOTS)
        fuzz_fail("fuzz_file", "bad slot");
    if (mem_fd[slot] < 0) {
        mem_fd[slot] = memfd_create("ck-fuzz-input", MFD_CLOEXEC);
        if (mem_fd[slot] < 0) {
            perror("fuzz: memfd_create");
            abort();
        }
        snprintf(mem_path[slot], sizeof mem_path[slot], "/proc/self/fd/%d", mem_fd[slot]);
    }
    if (ftruncate(mem_fd[slot], 0) != 0) {
        perror("fuzz: ftruncate");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t k = pwrite(mem_fd[slot], data + done, size - done, (off_t)done);
        if (k <= 0) {
            perror("fuzz: pwrite");
            abort();
        }
        done += (size_t)k;
    }
    return mem_path[slot];
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

void *fuzz_null_stream(void)
{
    static FILE *null_out;
    if (!null_out && !(null_out = fopen("/dev/null", "w"))) {
        perror("fuzz: /dev/null");
        abort();
    }
    return null_out;
}

void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}
