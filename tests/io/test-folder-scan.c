/* Folder-per-class scans skip entries named like images that are not
 * regular files (a FIFO would block whoever opens it) and report them
 * through ck_manifest_skipped() for the caller's warning. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/table.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void touch(const char *dir, const char *name)
{
    char *p = ck_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    free(p);
}

int main(void)
{
    char dir[64];
    snprintf(dir, sizeof dir, "ck-folder-scan-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    alarm(60); /* a scan that opened the FIFO would block: fail, not hang */
    char *cat = ck_path_join(dir, "cat"), *dog = ck_path_join(dir, "dog");
    CHECK(mkdir(cat, 0700) == 0 && mkdir(dog, 0700) == 0);
    touch(cat, "a.png");
    touch(dog, "b.png");
    char *fifo = ck_path_join(dog, "c.png"), *sub = ck_path_join(cat, "d.jpg");
    CHECK(mkfifo(fifo, 0600) == 0 && mkdir(sub, 0700) == 0);
    ck_manifest *m = ck_manifest_from_folders(dir);
    CHECK(m && ck_manifest_count(m) == 2);
    const char *first = NULL;
    CHECK(ck_manifest_skipped(m, &first) == 2);
    CHECK(first && (strstr(first, "d.jpg") || strstr(first, "c.png")));
    ck_manifest_free(m);
    /* Manifests read from a file skip nothing. */
    ck_manifest *e = ck_manifest_new();
    CHECK(e && ck_manifest_skipped(e, &first) == 0 && first == NULL);
    ck_manifest_free(e);
    CHECK(ck_manifest_skipped(NULL, NULL) == 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cat), free(dog), free(fifo), free(sub);
    return check_report("test-folder-scan");
}
