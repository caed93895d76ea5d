/* Batch jobs through the command line, run as a cluster would: --shard I/N
 * over a Slurm-like array must cover every image exactly once and the union
 * of the shards' outputs must equal one uninterrupted run byte for byte
 * (results.jsonl after `gad merge`); a run stopped by SIGTERM and restarted
 * with --resume must end with the same files as a run never stopped; the
 * interrupt message names what was done; --progress json counts to the
 * total; --profile writes its fields with plausible values. The reference
 * throughout is a plain single run of the same command. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define DEMO GAD_SOURCE_DIR "/tools/demo"
#define CLI GAD_CLI_PATH
#define ATTR CLI " attribute --model " DEMO "/fashion_cnn.onnx --method ig "

static char out[1 << 16];
#define sh(...) gad_test_runf(out, sizeof out, __VA_ARGS__)

static const char *dir(const char *name) {
    static char buf[8][512];
    static int slot;
    char *b = buf[slot++ % 8];
    snprintf(b, 512, "%s/batch-%s", gad_test_tmpdir(), name);
    return b;
}

/* Files in d whose names end with suffix. */
static int count_files(const char *d, const char *suffix) {
    DIR *dd = opendir(d);
    if (!dd) return -1;
    int n = 0;
    size_t ls = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.') continue; /* ., .. and temporaries */
        size_t l = strlen(e->d_name);
        if (l >= ls && !strcmp(e->d_name + l - ls, suffix)) n++;
    }
    closedir(dd);
    return n;
}

static int exists(const char *d, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", d, name);
    return access(p, F_OK) == 0;
}

static void test_shards_cover_once_and_union_equals_one_run(void) {
    const char *full = dir("full"), *uni = dir("union");
    CU_ASSERT_EQUAL_FATAL(sh(ATTR "--steps 8 --out %s " DEMO "/images", full), 0);
    CU_ASSERT_EQUAL(count_files(full, ".result.json"), 48);
    const char *sd[3];
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "shard%d", i);
        sd[i] = dir(name);
        /* one thread a shard: the engine's other path than the full run's */
        CU_ASSERT_EQUAL_FATAL(sh(ATTR "--steps 8 --threads 1 --shard %d/3 --out %s " DEMO "/images", i, sd[i]), 0);
        CU_ASSERT_EQUAL(count_files(sd[i], ".result.json"), 16);
    }
    /* every image of the full run is in exactly one shard */
    CU_ASSERT_EQUAL_FATAL(sh("ls %s | grep 'result.json$'", full), 0);
    static char names[sizeof out];
    memcpy(names, out, sizeof out);
    int checked = 0;
    for (char *line = strtok(names, "\n"); line; line = strtok(NULL, "\n")) {
        int in = 0;
        for (int i = 0; i < 3; i++) in += exists(sd[i], line);
        CU_ASSERT_EQUAL(in, 1);
        checked++;
    }
    CU_ASSERT_EQUAL(checked, 48);
    /* the union, merged, equals the full run byte for byte */
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL_FATAL(sh("mkdir -p %s && cp %s/*.* %s/", uni, sd[i], uni), 0);
    /* the shards' settings are the full run's: --shard and --threads change
     * no output, so they are left out */
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(sh("cmp %s/.gad-settings %s/.gad-settings", full, sd[i]), 0);
    CU_ASSERT_EQUAL(sh("cp %s/.gad-settings %s/", sd[0], uni), 0);
    CU_ASSERT_EQUAL(sh("rm %s/results.jsonl", uni), 0);
    CU_ASSERT_EQUAL(sh(CLI " merge --out %s " DEMO "/images", uni), 0);
    CU_ASSERT_EQUAL(sh("diff -r %s %s >/dev/null", full, uni), 0);
    CU_ASSERT_EQUAL(count_files(uni, ""), 48 * 4 + 1);

    /* shards sharing one folder: the last one's merge sees every record */
    const char *shared = dir("shared");
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(sh(ATTR "--steps 8 --shard %d/3 --out %s " DEMO "/images", i, shared), 0);
    CU_ASSERT_EQUAL(sh("diff -r %s %s >/dev/null", full, shared), 0);

    /* merge with a missing record: exit 1, one line, the rest merged */
    CU_ASSERT_EQUAL(sh("rm %s/sneaker-00009.result.json", uni), 0);
    CU_ASSERT_EQUAL(sh(CLI " merge --out %s " DEMO "/images 2>&1", uni), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 of 48 images have no record"));
    CU_ASSERT_EQUAL(sh("wc -l < %s/results.jsonl", uni), 0);
    CU_ASSERT_EQUAL(atoi(out), 47);
}

static void test_bad_shard(void) {
    const char *bad[] = {"3/3", "1/0", "-1/2", "a/2", "1/2/3", "1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = sh(ATTR "--shard %s --out %s " DEMO "/images 2>&1", bad[i], dir("bad"));
        CU_ASSERT_EQUAL(rc, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "--shard"));
    }
    CU_ASSERT_EQUAL(sh(ATTR "--progress fancy --out %s " DEMO "/images 2>&1", dir("bad")), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--progress 'fancy'"));
}

static void test_interrupt_then_resume(void) {
    const char *ref = dir("ref"), *cut = dir("cut");
    /* 100 points an image on one thread: slow enough to stop mid-way */
#define SLOW ATTR "--steps 100 --threads 1 "
    CU_ASSERT_EQUAL_FATAL(sh(SLOW "--out %s " DEMO "/images", ref), 0);
    /* start, wait for 3 records, SIGTERM; prints the exit status */
    int rc = sh("(" SLOW "--out %s " DEMO "/images 2>%s.err & P=$!; i=0; "
                "while [ $(ls %s 2>/dev/null | grep -c 'result.json$') -lt 3 ] && [ $i -lt 2400 ]; do "
                "sleep 0.05; i=$((i+1)); done; kill -TERM $P; wait $P 2>/dev/null; echo $?) 2>/dev/null",
                cut, cut, cut);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(atoi(out), 143); /* died of SIGTERM */
    int records = count_files(cut, ".result.json");
    CU_ASSERT(records >= 3 && records < 48);
    /* an image's files are renamed before its record: at most one image may
     * have files but no record (it is redone on resume) */
    int tiffs = count_files(cut, ".attr.tiff");
    CU_ASSERT(tiffs == records || tiffs == records + 1);
    CU_ASSERT_EQUAL(sh("ls -a %s | grep -c '\\.tmp\\.'", cut), 1); /* grep found none */
    CU_ASSERT_FALSE(exists(cut, "results.jsonl"));
    CU_ASSERT_EQUAL(sh("cat %s.err", cut), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "gad attribute: interrupted after %d of 48 images; their outputs in %s are complete; "
             "rerun with --resume to finish\n",
             records, cut);
    CU_ASSERT_STRING_EQUAL(out, want);
    /* resume: only the rest is done, and the folder equals the reference */
    CU_ASSERT_EQUAL(sh(SLOW "--resume --progress json --out %s " DEMO "/images 2>&1", cut), 0);
    char head[256];
    snprintf(head, sizeof head, "gad attribute: --resume: %d of 48 images already complete", records);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, head));
    char tot[64];
    snprintf(tot, sizeof tot, "\"done\": %d, \"total\": %d", 48 - records, 48 - records);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, tot));
    CU_ASSERT_EQUAL(sh("diff -r %s %s >/dev/null", ref, cut), 0);
    /* a record whose output was deleted is redone */
    CU_ASSERT_EQUAL(sh("rm %s/sneaker-00009.map.tiff", cut), 0);
    CU_ASSERT_EQUAL(sh(SLOW "--resume --progress json --out %s " DEMO "/images 2>&1", cut), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"done\": 1, \"total\": 1"));
    CU_ASSERT_EQUAL(sh("diff -r %s %s >/dev/null", ref, cut), 0);
    /* --resume with flags that change outputs is refused, naming the file
     * and the first difference; nothing is written */
    CU_ASSERT_EQUAL(sh("rm %s/sneaker-00009.map.tiff", cut), 0);
    CU_ASSERT_EQUAL(sh(ATTR "--steps 99 --threads 1 --resume --out %s " DEMO "/images 2>&1", cut), 1);
    CU_ASSERT(gad_test_cli_prefixed(out));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, ".gad-settings: --resume into a folder written with other settings"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "'--steps 100' there, '--steps 99' now"));
    CU_ASSERT_FALSE(exists(cut, "sneaker-00009.map.tiff"));
    /* run-only flags (threads, batch, progress) may differ */
    CU_ASSERT_EQUAL(sh(ATTR "--steps 100 --threads 2 --batch 3 --resume --progress none --out %s " DEMO "/images", cut),
                    0);
    CU_ASSERT_EQUAL(sh("diff -r %s %s >/dev/null", ref, cut), 0);
#undef SLOW
}

static void test_progress_json_and_profile(void) {
    const char *d = dir("prog");
    char prof[600];
    snprintf(prof, sizeof prof, "%s.profile.json", d);
    CU_ASSERT_EQUAL_FATAL(sh(CLI " attribute --model " DEMO "/fashion_cnn.onnx --method ig --steps 8 --progress json "
                                 "--profile %s --out %s " DEMO "/images 2>&1 >/dev/null",
                             prof, d),
                          0);
    int lines = 0, last = 0, ok = 1;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        int done, total;
        double rate, eta;
        if (sscanf(line, "{\"done\": %d, \"total\": %d, \"rate\": %lf, \"eta_s\": %lf}", &done, &total, &rate, &eta) != 4) {
            fprintf(stderr, "\n  not a progress line: %s\n", line);
            ok = 0;
            continue;
        }
        lines++;
        if (done != last + 1 || total != 48 || !(rate > 0) || !(eta >= 0)) ok = 0;
        last = done;
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(lines, 48);
    CU_ASSERT_EQUAL(last, 48);

    size_t n;
    char *p = gad_test_read_file(prof, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(gad_test_json_num(p, "ranks"), 1);
    CU_ASSERT_EQUAL(gad_test_json_num(p, "images"), 48);
    CU_ASSERT(gad_test_json_num(p, "wall_s") > 0);
    CU_ASSERT(gad_test_json_num(p, "gflops_per_s") > 0);
    CU_ASSERT(gad_test_json_num(p, "threads") >= 1);
    double rss = gad_test_json_num(p, "peak_rss_mb");
    CU_ASSERT(rss > 1 && rss < 4096);
    const char *keys[] = {"load", "preprocess", "forward", "backward", "kernels", "fusion", "write"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CU_ASSERT(gad_test_json_num(p, keys[i]) >= 0);
    CU_ASSERT(gad_test_json_num(p, "forward") > 0);
    CU_ASSERT(gad_test_json_num(p, "backward") > 0);
    CU_ASSERT(gad_test_json_num(p, "write") > 0);
    /* the parts fit in the run: passes (summed over 2 threads at most) */
    CU_ASSERT(gad_test_json_num(p, "forward") + gad_test_json_num(p, "backward") < 2 * gad_test_json_num(p, "wall_s") + 0.1);
    free(p);
    if (access("/usr/bin/python3", X_OK) == 0)
        CU_ASSERT_EQUAL(sh("/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' %s", prof), 0);
}

static void test_explain_shards(void) {
    /* explain shares the batch code: shards and resume there too. Support
     * models from a short fit on the demo images themselves. */
    const char *sup = dir("support"), *full = dir("xfull"), *sh2 = dir("xshard");
    const char *data = dir("data");
    CU_ASSERT_EQUAL_FATAL(sh("set -e; mkdir -p %s/Sneaker %s/Ankle-boot; "
                             "for f in " DEMO "/images/sneaker-*; do ln -sf $f %s/Sneaker/; done; "
                             "for f in " DEMO "/images/ankle-boot-*; do ln -sf $f %s/Ankle-boot/; done; "
                             "printf 'T-shirt\\nTrouser\\nPullover\\nDress\\nCoat\\nSandal\\nShirt\\nSneaker\\nBag\\n"
                             "Ankle-boot\\n' > %s.labels",
                             data, data, data, data, data),
                          0);
    CU_ASSERT_EQUAL_FATAL(sh(CLI " fit --model " DEMO "/fashion_cnn.onnx --data %s --labels %s.labels "
                                 "--pair Ankle-boot,Sneaker --levels 1 --epochs 1 --min-fidelity 0 --holdout 0 --quiet "
                                 "--out %s 2>&1",
                             data, data, sup),
                          0);
#define EXPL CLI " explain --model " DEMO "/fashion_cnn.onnx --support %s --method saliency "
    CU_ASSERT_EQUAL_FATAL(sh(EXPL "--out %s " DEMO "/images", sup, full), 0);
    CU_ASSERT_EQUAL(count_files(full, ".result.json"), 48);
    for (int i = 0; i < 2; i++) CU_ASSERT_EQUAL(sh(EXPL "--threads 1 --shard %d/2 --out %s " DEMO "/images", sup, i, sh2), 0);
    CU_ASSERT_EQUAL(sh("diff -r %s %s >/dev/null", full, sh2), 0);
    CU_ASSERT_EQUAL(sh(EXPL "--resume --progress json --out %s " DEMO "/images 2>&1", sup, sh2), 0);
    CU_ASSERT_PTR_NULL(strstr(out, "\"done\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "48 of 48 images already complete"));
    /* errors found after the output folder was made take it back */
    const char *late = dir("xlate");
    CU_ASSERT_EQUAL(sh(CLI " explain --model " DEMO "/fashion_cnn.onnx --support %s --method ig --steps 4 "
                       "--baseline %s/none.png --out %s " DEMO "/images 2>&1",
                       sup, late, late),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "none.png"));
    CU_ASSERT_EQUAL(access(late, F_OK), -1);
    CU_ASSERT_EQUAL(sh(EXPL "--fuse median --out %s " DEMO "/images 2>&1", sup, late), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--fuse 'median'"));
    CU_ASSERT_EQUAL(access(late, F_OK), -1);
#undef EXPL
}

static void test_eval_shards(void) {
    /* eval: each image's figures in a record S.eval.rec; the report is built
     * from all records in input order, so shards then a --resume run give
     * the report of one run, byte for byte */
    const char *sup = dir("support"), *full = dir("efull"), *shd = dir("eshard");
#define EVAL CLI " eval --model " DEMO "/fashion_cnn.onnx --support %s --method saliency,gradient "
    CU_ASSERT_EQUAL_FATAL(sh(EVAL "--out %s " DEMO "/images 2>&1", sup, full), 0);
    CU_ASSERT_EQUAL(count_files(full, ".eval.rec"), 48);
    CU_ASSERT(exists(full, "report.json") && exists(full, "report.md") && exists(full, "images.jsonl"));
    CU_ASSERT_EQUAL(sh(EVAL "--threads 1 --shard 0/2 --out %s " DEMO "/images 2>&1", sup, shd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "covers 24 of 48 images"));
    CU_ASSERT_EQUAL(sh(EVAL "--threads 1 --shard 1/2 --out %s " DEMO "/images 2>&1", sup, shd), 0);
    CU_ASSERT_EQUAL(sh(EVAL "--resume --progress json --out %s " DEMO "/images 2>&1", sup, shd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "48 of 48 images already complete"));
    CU_ASSERT_EQUAL(sh("diff -r %s %s >/dev/null", full, shd), 0);
    /* a record of other flags is refused, not mixed into the report */
    CU_ASSERT_EQUAL(sh(CLI " eval --model " DEMO "/fashion_cnn.onnx --support %s --method saliency --resume "
                           "--out %s " DEMO "/images 2>&1",
                       sup, shd),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "not a record of this gad eval"));
#undef EVAL
}

void gad_test_register_batch(void) {
    static const gad_test_case t[] = {
        {"shards cover every image once, union = one run", test_shards_cover_once_and_union_equals_one_run},
        {"bad --shard / --progress", test_bad_shard},
        {"SIGTERM mid-run, then --resume = uninterrupted run", test_interrupt_then_resume},
        {"--progress json counts to total; --profile fields", test_progress_json_and_profile},
        {"explain: shards and resume", test_explain_shards},
        {"eval: shards then --resume = one run's report", test_eval_shards},
        {0, 0}};
    gad_test_add_suite("batch", t);
}
