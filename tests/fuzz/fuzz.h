/* tests/fuzz/fuzz.h — shared by the fuzz targets (see docs/fuzzing.md).
 *
 * Each fuzz-<what>.c defines LLVMFuzzerTestOneInput(). Built with
 * -DCK_FUZZ=ON (clang) it links libFuzzer's main(); otherwise replay.c's
 * main() feeds it every file of the corpus folders given on the command line,
 * which is how ctest replays tests/fuzz/corpus/<what>/ in every build. */
#ifndef CK_FUZZ_H
#define CK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time set-up (libFuzzer's name; replay.c calls it too). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A path whose file holds exactly data[0..size), for readers that only take
 * a path: one memfd per slot (0..3) and process, rewritten for each input
 * (no disk I/O, no leftovers). Aborts when the file cannot be written: a
 * harness failure must not look like a rejected input. */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

/* data[0..size) as a malloc'd NUL-terminated string (aborts when out of
 * memory). */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* A FILE for reports and writers whose output is not looked at. */
void *fuzz_null_stream(void);

/* Abort with a message: a property the target checks does not hold. */
void fuzz_fail(const char *what, const char *detail);

#endif
