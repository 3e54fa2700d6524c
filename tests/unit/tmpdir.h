/* A temporary folder of flat files for the storage unit tests. */
#ifndef CATENA_TESTS_UNIT_TMPDIR_H
#define CATENA_TESTS_UNIT_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Creates /tmp/catena-<name>.XXXXXX into dir; 0 or -1. */
static inline int tmpdir_create(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/catena-%s.XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

/* Deletes the folder and the files in it. */
static inline void tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

#endif
