/* Labelled image sets for `gad fit`: an ImageFolder-style folder (one
 * sub-folder a class) or a CSV list of `path,label`. Class names map to
 * indices through --labels FILE (the model's class names, one a line), or,
 * without it, through the sorted order of the sub-folder names. */
#include "cli/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void gad_dataset_free(gad_dataset *ds) {
    for (int i = 0; i < ds->n; i++) free(ds->paths[i]);
    for (int i = 0; i < ds->n_names; i++) free(ds->names[i]);
    free(ds->paths);
    free(ds->labels);
    free(ds->names);
    memset(ds, 0, sizeof *ds);
}

static int push(gad_dataset *ds, int *cap, const char *path, int label) {
    if (ds->n == *cap) {
        int nc = *cap ? *cap * 2 : 256;
        char **p = realloc(ds->paths, (size_t)nc * sizeof *p);
        if (!p) return GAD_ENOMEM;
        ds->paths = p;
        int *l = realloc(ds->labels, (size_t)nc * sizeof *l);
        if (!l) return GAD_ENOMEM;
        ds->labels = l;
        *cap = nc;
    }
    if (!(ds->paths[ds->n] = strdup(path))) return GAD_ENOMEM;
    ds->labels[ds->n++] = label;
    return 0;
}

/* Class names from --labels, one a line. */
static int read_names(const char *file, gad_dataset *ds, gad_err *err) {
    FILE *f = fopen(file, "r");
    if (!f) return gad_err_set(err, GAD_EIO, "%s: cannot open labels: %s", file, strerror(errno));
    char line[1024];
    int cap = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (ds->n_names == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(ds->names, (size_t)cap * sizeof *v);
            if (!v) {
                rc = gad_err_set(err, GAD_ENOMEM, "%s: out of memory", file);
                break;
            }
            ds->names = v;
        }
        if (!(ds->names[ds->n_names] = strdup(line)))
            rc = gad_err_set(err, GAD_ENOMEM, "%s: out of memory", file);
        else
            ds->n_names++;
    }
    fclose(f);
    if (!rc && ds->n_names == 0) rc = gad_err_set(err, GAD_EFORMAT, "%s: no class names", file);
    return rc;
}

int gad_dataset_class(const gad_dataset *ds, const char *name) {
    for (int i = 0; i < ds->n_names; i++)
        if (!strcmp(ds->names[i], name)) return i;
    char *end;
    long v = strtol(name, &end, 10);
    if (end != name && !*end && v >= 0 && v < 1 << 20) return (int)v;
    return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_image(const char *name) {
    const char *dot = strrchr(name, '.');
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".PNG", ".JPG", ".JPEG", ".TIF", ".TIFF"};
    for (size_t i = 0; dot && i < sizeof ext / sizeof *ext; i++)
        if (!strcmp(dot, ext[i])) return 1;
    return 0;
}

/* Sorted regular image files of one class folder (not recursive: the
 * ImageFolder layout is flat inside a class). */
static int add_class_dir(gad_dataset *ds, int *cap, const char *dir, int label, gad_err *err) {
    DIR *d = opendir(dir);
    if (!d) return gad_err_set(err, GAD_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **files = NULL;
    int n = 0, fcap = 0, rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !is_image(e->d_name)) continue;
        if (n == fcap) {
            fcap = fcap ? fcap * 2 : 256;
            char **v = realloc(files, (size_t)fcap * sizeof *v);
            if (!v) {
                rc = GAD_ENOMEM;
                break;
            }
            files = v;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(files[n] = malloc(len))) {
            rc = GAD_ENOMEM;
            break;
        }
        snprintf(files[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(files, (size_t)n, sizeof *files, cmp_str);
    for (int i = 0; i < n && !rc; i++) rc = push(ds, cap, files[i], label);
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    if (rc == GAD_ENOMEM) rc = gad_err_set(err, rc, "%s: out of memory", dir);
    return rc;
}

static int load_folder(gad_dataset *ds, const char *root, gad_err *err) {
    DIR *d = opendir(root);
    if (!d) return gad_err_set(err, GAD_EIO, "%s: cannot open data folder: %s", root, strerror(errno));
    char **subs = NULL;
    int n = 0, scap = 0, rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(root) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (!full) {
            rc = GAD_ENOMEM;
            break;
        }
        snprintf(full, len, "%s/%s", root, e->d_name);
        struct stat st;
        if (stat(full, &st) || !S_ISDIR(st.st_mode)) {
            free(full);
            continue;
        }
        free(full);
        if (n == scap) {
            scap = scap ? scap * 2 : 32;
            char **v = realloc(subs, (size_t)scap * sizeof *v);
            if (!v) {
                rc = GAD_ENOMEM;
                break;
            }
            subs = v;
        }
        if (!(subs[n] = strdup(e->d_name))) rc = GAD_ENOMEM;
        else n++;
    }
    closedir(d);
    if (rc == GAD_ENOMEM) rc = gad_err_set(err, rc, "%s: out of memory", root);
    if (!rc && n == 0) rc = gad_err_set(err, GAD_EINVAL, "%s: no class sub-folders (expected DIR/CLASS/IMAGE)", root);
    qsort(subs, (size_t)n, sizeof *subs, cmp_str);
    int cap = 0;
    for (int i = 0; i < n && !rc; i++) {
        /* with --labels a folder is a class name (or index); else its rank */
        int label = ds->n_names ? gad_dataset_class(ds, subs[i]) : i;
        if (label < 0) {
            rc = gad_err_set(err, GAD_EINVAL, "%s/%s: folder name is not a class in the labels file", root, subs[i]);
            break;
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, subs[i]);
        rc = add_class_dir(ds, &cap, dir, label, err);
    }
    if (!rc && !ds->n_names) {
        /* the folder names become the class names (sorted order) */
        ds->names = subs;
        ds->n_names = n;
        subs = NULL;
    }
    for (int i = 0; subs && i < n; i++) free(subs[i]);
    free(subs);
    return rc;
}

static int load_csv(gad_dataset *ds, const char *file, gad_err *err) {
    FILE *f = fopen(file, "r");
    if (!f) return gad_err_set(err, GAD_EIO, "%s: cannot open list: %s", file, strerror(errno));
    char line[4096];
    int lineno = 0, cap = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *comma = strrchr(line, ',');
        if (!comma) {
            rc = gad_err_set(err, GAD_EFORMAT, "%s:%d: expected 'path,label'", file, lineno);
            break;
        }
        *comma = 0;
        int label = gad_dataset_class(ds, comma + 1);
        if (label < 0) {
            rc = gad_err_set(err, GAD_EFORMAT, "%s:%d: label '%s' is neither an index nor a class name", file, lineno,
                             comma + 1);
            break;
        }
        if (push(ds, &cap, line, label)) rc = gad_err_set(err, GAD_ENOMEM, "%s: out of memory", file);
    }
    fclose(f);
    return rc;
}

int gad_dataset_open(gad_dataset *ds, const char *dir, const char *csv, const char *labels, gad_err *err) {
    memset(ds, 0, sizeof *ds);
    int rc = 0;
    if (labels) rc = read_names(labels, ds, err);
    if (!rc && !dir && !csv) rc = gad_err_set(err, GAD_EINVAL, "give the images with --data DIR or --list CSV");
    if (!rc && dir) rc = load_folder(ds, dir, err);
    if (!rc && csv) rc = load_csv(ds, csv, err);
    if (!rc && ds->n == 0)
        rc = gad_err_set(err, GAD_EINVAL, "%s: no images found", dir ? dir : csv);
    if (rc) gad_dataset_free(ds);
    return rc;
}
