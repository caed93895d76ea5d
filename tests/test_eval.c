/* Evaluation measures (src/eval/) against hand-computed values, brute-force
 * references written independently here, and SciPy's t quantiles
 * (tests/data/eval, from tools/make_eval_fixtures.py). */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gad/gad.h"
#include "gad/eval.h"
#include "harness.h"

/* Mask from rows of '#' (selected) and '.'. */
static uint8_t *mask_from(const char *const *rows, int h, int w) {
    uint8_t *m = calloc((size_t)h * w, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) m[y * w + x] = rows[y][x] == '#';
    return m;
}

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* ---- convex hull ------------------------------------------------------- */

static void test_hull_shapes(void) {
    /* Unit right triangle of centres (0,0), (1,0), (0,1): area 1/2 of 2x2. */
    const char *tri[] = {"##", "#."};
    uint8_t *m = mask_from(tri, 2, 2);
    CU_ASSERT_DOUBLE_EQUAL(gad_hull_area(m, 2, 2), 0.5 / 4, 1e-15);
    free(m);
    /* Full 3x3: centres span a 2x2 square. */
    const char *full[] = {"###", "###", "###"};
    m = mask_from(full, 3, 3);
    CU_ASSERT_DOUBLE_EQUAL(gad_hull_area(m, 3, 3), 4.0 / 9, 1e-15);
    free(m);
    /* 2x2 block inside 4x4: unit square. */
    const char *blk[] = {"....", ".##.", ".##.", "...."};
    m = mask_from(blk, 4, 4);
    CU_ASSERT_DOUBLE_EQUAL(gad_hull_area(m, 4, 4), 1.0 / 16, 1e-15);
    free(m);
    /* L-shape: hull is the triangle (0,0), (0,4), (4,4), area 8. */
    const char *ell[] = {"#....", "#....", "#....", "#....", "#####"};
    m = mask_from(ell, 5, 5);
    CU_ASSERT_DOUBLE_EQUAL(gad_hull_area(m, 5, 5), 8.0 / 25, 1e-15);
    free(m);
    /* Triangle (0,0), (4,0), (2,3) with an inside point and a point on an
     * edge: area 4 * 3 / 2 = 6. */
    const char *t2[] = {"#.#.#", ".....", "..#..", "..#..", "....."};
    m = mask_from(t2, 5, 5);
    CU_ASSERT_DOUBLE_EQUAL(gad_hull_area(m, 5, 5), 6.0 / 25, 1e-15);
    free(m);
    /* Rotated square (diamond) with centre (2,2), radius 2: area 8. */
    const char *dia[] = {"..#..", ".#.#.", "#...#", ".#.#.", "..#.."};
    m = mask_from(dia, 5, 5);
    CU_ASSERT_DOUBLE_EQUAL(gad_hull_area(m, 5, 5), 8.0 / 25, 1e-15);
    free(m);
}

static void test_hull_degenerate(void) {
    const char *diag[] = {"#....", ".#...", "..#..", "...#.", "....#"};
    const char *row[] = {".....", ".....", "#####", ".....", "....."};
    const char *col[] = {"..#..", "..#..", "..#..", "..#..", "..#.."};
    const char *slope[] = {"#....", "..#..", "....#", ".....", "....."}; /* slope 1/2 */
    const char *two[] = {"#....", ".....", ".....", ".....", "....#"};
    const char *one[] = {".....", ".....", "..#..", ".....", "....."};
    const char *none[] = {".....", ".....", ".....", ".....", "....."};
    const char *const *cases[] = {diag, row, col, slope, two, one, none};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *m = mask_from(cases[i], 5, 5);
        CU_ASSERT_EQUAL(gad_hull_area(m, 5, 5), 0.0);
        free(m);
    }
    uint8_t z = 1;
    CU_ASSERT_EQUAL(gad_hull_area(&z, 0, 1), 0.0);
    CU_ASSERT_EQUAL(gad_hull_area(&z, 1, -3), 0.0);
}

/* Gift wrapping over every selected pixel (not only row ends), then the
 * shoelace formula: an independent route to the same area. */
static double hull_ref(const uint8_t *m, int h, int w) {
    int64_t *px = malloc(sizeof *px * (size_t)h * w), *py = malloc(sizeof *py * (size_t)h * w);
    int np = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (m[y * w + x]) px[np] = x, py[np] = y, np++;
    double area = 0;
    if (np >= 3) {
        int start = 0;
        for (int i = 1; i < np; i++)
            if (py[i] < py[start] || (py[i] == py[start] && px[i] < px[start])) start = i;
        int cur = start, nh = 0;
        int64_t twice = 0;
        do {
            int cand = cur == 0 ? 1 : 0;
            for (int q = 0; q < np; q++) {
                if (q == cur) continue;
                int64_t c = (px[cand] - px[cur]) * (py[q] - py[cur]) -
                            (py[cand] - py[cur]) * (px[q] - px[cur]);
                int64_t dq = (px[q] - px[cur]) * (px[q] - px[cur]) + (py[q] - py[cur]) * (py[q] - py[cur]);
                int64_t dc = (px[cand] - px[cur]) * (px[cand] - px[cur]) +
                             (py[cand] - py[cur]) * (py[cand] - py[cur]);
                if (c < 0 || (c == 0 && dq > dc)) cand = q;
            }
            twice += px[cur] * py[cand] - px[cand] * py[cur];
            cur = cand;
            nh++;
        } while (cur != start && nh <= np);
        area = fabs((double)twice) / 2 / ((double)h * w);
    }
    free(px);
    free(py);
    return area;
}

static void test_hull_random(void) {
    uint64_t s = 7;
    int h = 11, w = 9;
    uint8_t *m = malloc((size_t)h * w);
    for (int trial = 0; trial < 300; trial++) {
        int density = 1 + (int)(lcg(&s) % 30); /* out of 100: from sparse to dense */
        for (int i = 0; i < h * w; i++) m[i] = (int)(lcg(&s) % 100) < density;
        double ref = hull_ref(m, h, w), got = gad_hull_area(m, h, w);
        CU_ASSERT_DOUBLE_EQUAL(got, ref, 1e-12);
    }
    free(m);
    /* A big mask stays quick: only 2h hull candidates. */
    int bh = 3000, bw = 3000;
    uint8_t *big = calloc((size_t)bh * bw, 1);
    for (int y = 0; y < bh; y++) big[(size_t)y * bw + (y * 7) % bw] = 1;
    big[0] = big[bw - 1] = big[(size_t)(bh - 1) * bw] = 1;
    CU_ASSERT(gad_hull_area(big, bh, bw) > 0.4);
    free(big);
}

/* ---- connected regions ------------------------------------------------- */

static void test_regions_hand(void) {
    const char *diag[] = {"#...", ".#..", "..#.", "...#"};
    uint8_t *m = mask_from(diag, 4, 4);
    CU_ASSERT_EQUAL(gad_count_regions(m, 4, 4, NULL), 1); /* 4-connectivity would say 4 */
    free(m);
    const char *anti[] = {"...#", "..#.", ".#..", "#..."};
    m = mask_from(anti, 4, 4);
    CU_ASSERT_EQUAL(gad_count_regions(m, 4, 4, NULL), 1);
    free(m);
    const char *blobs[] = {"##...#", "##...#", "......", "..#..."};
    m = mask_from(blobs, 4, 6);
    int labels[24];
    CU_ASSERT_EQUAL(gad_count_regions(m, 4, 6, labels), 3);
    const int want[24] = {1, 1, 0, 0, 0, 2, 1, 1, 0, 0, 0, 2,
                          0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0};
    CU_ASSERT_EQUAL(memcmp(labels, want, sizeof want), 0);
    free(m);
    /* A U whose arms only meet at the bottom: labels must merge the two
     * provisional labels the raster scan starts with. */
    const char *u[] = {"#...#", "#...#", "#...#", ".###."};
    m = mask_from(u, 4, 5);
    CU_ASSERT_EQUAL(gad_count_regions(m, 4, 5, labels), 1);
    for (int i = 0; i < 20; i++) CU_ASSERT_EQUAL(labels[i], m[i] ? 1 : 0);
    free(m);
    const char *none[] = {"...", "..."};
    m = mask_from(none, 2, 3);
    CU_ASSERT_EQUAL(gad_count_regions(m, 2, 3, NULL), 0);
    free(m);
    uint8_t z = 1;
    CU_ASSERT_EQUAL(gad_count_regions(&z, 0, 1, NULL), GAD_EINVAL);
    CU_ASSERT_EQUAL(gad_count_regions(&z, 65536, 65536, NULL), GAD_ELIMIT);
}

static void test_regions_spiral(void) {
    const char *sp[] = {"#########", "........#", "#######.#", "#.....#.#", "#.###.#.#",
                        "#.#...#.#", "#.#####.#", "#.......#", "#########"};
    uint8_t *m = mask_from(sp, 9, 9);
    CU_ASSERT_EQUAL(gad_count_regions(m, 9, 9, NULL), 1);
    m[2 * 9 + 3] = 0; /* cut the third arm: two pieces */
    CU_ASSERT_EQUAL(gad_count_regions(m, 9, 9, NULL), 2);
    m[1 * 9 + 0] = 1; /* joins the outer arm to the left piece */
    CU_ASSERT_EQUAL(gad_count_regions(m, 9, 9, NULL), 2);
    m[4 * 9 + 5] = 1; /* bridges two turns of the inner piece only */
    CU_ASSERT_EQUAL(gad_count_regions(m, 9, 9, NULL), 2);
    m[1 * 9 + 3] = 1; /* touches the outer arm above and, diagonally only, (2,4) */
    CU_ASSERT_EQUAL(gad_count_regions(m, 9, 9, NULL), 1);
    free(m);
}

/* Breadth-first flood fill over 8 neighbours, labels in raster order. */
static int regions_ref(const uint8_t *m, int h, int w, int *lab) {
    int n = h * w, count = 0, *queue = malloc(sizeof *queue * n);
    memset(lab, 0, sizeof *lab * n);
    for (int s = 0; s < n; s++) {
        if (!m[s] || lab[s]) continue;
        lab[s] = ++count;
        int qh = 0, qt = 0;
        queue[qt++] = s;
        while (qh < qt) {
            int i = queue[qh++], y = i / w, x = i % w;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                    int j = yy * w + xx;
                    if (m[j] && !lab[j]) lab[j] = count, queue[qt++] = j;
                }
        }
    }
    free(queue);
    return count;
}

static void test_regions_random(void) {
    uint64_t s = 11;
    int h = 17, w = 23, n = h * w;
    uint8_t *m = malloc(n);
    int *a = malloc(sizeof *a * n), *b = malloc(sizeof *b * n);
    for (int trial = 0; trial < 200; trial++) {
        int density = 5 + (int)(lcg(&s) % 50);
        for (int i = 0; i < n; i++) m[i] = (int)(lcg(&s) % 100) < density;
        int want = regions_ref(m, h, w, b);
        CU_ASSERT_EQUAL(gad_count_regions(m, h, w, a), want);
        CU_ASSERT_EQUAL(memcmp(a, b, sizeof *a * n), 0);
        CU_ASSERT_EQUAL(gad_count_regions(m, h, w, NULL), want);
    }
    free(m);
    free(a);
    free(b);
    /* Big masks: no recursion to overflow. A checkerboard is one region
     * under 8-connectivity; a one-pixel-wide snake is one long region. */
    int bh = 1500, bw = 1500;
    uint8_t *big = malloc((size_t)bh * bw);
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) big[y * bw + x] = (x + y) % 2 == 0;
    CU_ASSERT_EQUAL(gad_count_regions(big, bh, bw, NULL), 1);
    /* Full even rows joined by one end pixel on odd rows, alternating
     * sides: a single snake. */
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++)
            big[y * bw + x] = y % 2 == 0 || x == (y % 4 == 1 ? bw - 1 : 0);
    CU_ASSERT_EQUAL(gad_count_regions(big, bh, bw, NULL), 1);
    /* Every other column: empty columns keep them apart. */
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) big[y * bw + x] = x % 2 == 0;
    CU_ASSERT_EQUAL(gad_count_regions(big, bh, bw, NULL), bw / 2);
    free(big);
}

/* ---- Gini -------------------------------------------------------------- */

static void test_gini(void) {
    const float one[] = {1, 0, 0, 0};
    CU_ASSERT_DOUBLE_EQUAL(gad_gini(one, 4), 0.75, 1e-12); /* 1 - 2 * 1 * (1/2) / 4 */
    const float uni[] = {2, 2, 2, 2};
    CU_ASSERT_DOUBLE_EQUAL(gad_gini(uni, 4), 0.0, 1e-12);
    const float ramp[] = {4, 1, 3, 2}; /* 1 - 2 (3.5 + 5 + 4.5 + 2) / 40 = 0.25 */
    CU_ASSERT_DOUBLE_EQUAL(gad_gini(ramp, 4), 0.25, 1e-12);
    const float sgn[] = {-4, 1, -3, 2};
    CU_ASSERT_DOUBLE_EQUAL(gad_gini(sgn, 4), 0.25, 1e-12);
    const float zero[] = {0, 0, -0.0f};
    CU_ASSERT_EQUAL(gad_gini(zero, 3), 0.0);
    CU_ASSERT_EQUAL(gad_gini(zero, 0), 0.0);
    /* Against the mean-absolute-difference form,
     * G = sum_ij |c_i - c_j| / (2 n sum c), which equals it. */
    uint64_t s = 3;
    float v[57];
    for (int trial = 0; trial < 50; trial++) {
        int n = 2 + (int)(lcg(&s) % 56);
        for (int i = 0; i < n; i++)
            v[i] = lcg(&s) % 4 == 0 ? 0.0f : ((float)(lcg(&s) % 2001) - 1000.0f) / 97.0f;
        double num = 0, sum = 0;
        for (int i = 0; i < n; i++) {
            sum += fabs(v[i]);
            for (int j = 0; j < n; j++) num += fabs(fabs(v[i]) - fabs(v[j]));
        }
        double ref = sum > 0 ? num / (2.0 * n * sum) : 0.0;
        CU_ASSERT_DOUBLE_EQUAL(gad_gini(v, n), ref, 1e-9);
    }
}

/* ---- selections -------------------------------------------------------- */

static void test_select_top(void) {
    /* One clear winner, five ties at 3, the rest lower. */
    const float map[12] = {1, 3, 0.5f, 3, 5, 3, -1, 3, 2.5f, 3, 1, 0};
    uint8_t m[12], first[12];
    CU_ASSERT_EQUAL(gad_select_top(m, map, 12, 3, 42), 3);
    memcpy(first, m, 12);
    int distinct = 0, picked[12] = {0};
    for (uint64_t seed = 0; seed < 2000; seed++) {
        CU_ASSERT_EQUAL(gad_select_top(m, map, 12, 3, seed), 3);
        int sum = 0;
        for (int i = 0; i < 12; i++) {
            sum += m[i];
            picked[i] += m[i];
            if (map[i] != 3 && i != 4) CU_ASSERT_EQUAL(m[i], 0);
        }
        CU_ASSERT_EQUAL(sum, 3);
        CU_ASSERT_EQUAL(m[4], 1);
        if (memcmp(m, first, 12)) distinct = 1;
    }
    CU_ASSERT(distinct); /* ties differ across seeds */
    /* Each of the five tied pixels is taken in 2/5 of the seeds (800 of
     * 2000, standard deviation about 22). */
    for (int i = 0; i < 12; i++)
        if (map[i] == 3) CU_ASSERT(picked[i] > 700 && picked[i] < 900);
    gad_select_top(m, map, 12, 3, 42);
    CU_ASSERT_EQUAL(memcmp(m, first, 12), 0); /* same seed, same pick */
    /* No ties at the boundary: the exact top k. */
    CU_ASSERT_EQUAL(gad_select_top(m, map, 12, 7, 1), 7);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(m[i], map[i] >= 2.5f);
    CU_ASSERT_EQUAL(gad_select_top(m, map, 12, 0, 1), 0);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(m[i], 0);
    CU_ASSERT_EQUAL(gad_select_top(m, map, 12, 12, 1), 12);
    CU_ASSERT_EQUAL(gad_select_top(m, map, 12, 99, 1), 12);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(m[i], 1);
    /* NaN ranks last, -0 ties with +0, infinities order normally. */
    const float odd[6] = {NAN, -0.0f, INFINITY, 0.0f, -INFINITY, -1e-30f};
    CU_ASSERT_EQUAL(gad_select_top(m, odd, 6, 1, 5), 1);
    CU_ASSERT_EQUAL(m[2], 1);
    CU_ASSERT_EQUAL(gad_select_top(m, odd, 6, 5, 5), 5);
    CU_ASSERT_EQUAL(m[0], 0);
    int zeros = 0;
    for (uint64_t seed = 0; seed < 50; seed++) {
        gad_select_top(m, odd, 6, 2, seed);
        CU_ASSERT_EQUAL(m[2], 1);
        CU_ASSERT_EQUAL(m[1] + m[3], 1);
        zeros |= m[1] ? 1 : 2;
    }
    CU_ASSERT_EQUAL(zeros, 3); /* both zeros win some seeds */
}

static void test_select_top_share(void) {
    const float map[10] = {3, -1, 2, 0, 0, 5, -2, 1, 0, 0};
    uint8_t m[10];
    /* round(0.5 * 10) = 5, but only 4 values are positive. */
    CU_ASSERT_EQUAL(gad_select_top_share(m, map, 10, 0.5, 9), 4);
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(m[i], map[i] > 0);
    CU_ASSERT_EQUAL(gad_select_top_share(m, map, 10, 0.2, 9), 2);
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(m[i], i == 0 || i == 5);
    CU_ASSERT_EQUAL(gad_select_top_share(m, map, 10, 0.25, 9), 3); /* round(2.5) = 3 */
    CU_ASSERT_EQUAL(gad_select_top_share(m, map, 10, 0.0, 9), 0);
    CU_ASSERT_EQUAL(gad_select_top_share(m, map, 10, 7.0, 9), 4);
    CU_ASSERT_EQUAL(gad_select_top_share(m, map, 10, NAN, 9), 0);
    CU_ASSERT_EQUAL(gad_budget_pixels(0.01, 224 * 224), 502); /* 501.76 */
    CU_ASSERT_EQUAL(gad_budget_pixels(-1, 10), 0);
    CU_ASSERT_EQUAL(gad_budget_pixels(1.5, 10), 10);
}

static void test_select_random(void) {
    enum { N = 40 };
    uint8_t inf[N], m[N], first[N];
    int navail = 0;
    for (int i = 0; i < N; i++) navail += inf[i] = (i % 3 != 0); /* 26 informative */
    CU_ASSERT_EQUAL(navail, 26);
    int hits[N] = {0}, distinct = 0;
    gad_select_random(first, inf, N, 10, 1);
    for (uint64_t seed = 1; seed <= 2600; seed++) {
        CU_ASSERT_EQUAL(gad_select_random(m, inf, N, 10, seed), 10);
        int sum = 0;
        for (int i = 0; i < N; i++) {
            sum += m[i];
            hits[i] += m[i];
            if (!inf[i]) CU_ASSERT_EQUAL(m[i], 0);
        }
        CU_ASSERT_EQUAL(sum, 10);
        if (memcmp(m, first, N)) distinct = 1;
    }
    CU_ASSERT(distinct);
    /* Uniform: each informative pixel in 10/26 of draws, 1000 of 2600
     * (standard deviation about 25). */
    for (int i = 0; i < N; i++)
        if (inf[i]) CU_ASSERT(hits[i] > 880 && hits[i] < 1120);
    gad_select_random(m, inf, N, 10, 1);
    CU_ASSERT_EQUAL(memcmp(m, first, N), 0);
    /* Fewer informative than asked: all of them. */
    CU_ASSERT_EQUAL(gad_select_random(m, inf, N, 30, 4), 26);
    CU_ASSERT_EQUAL(memcmp(m, inf, N), 0);
    CU_ASSERT_EQUAL(gad_select_random(m, inf, N, 0, 4), 0);
    for (int i = 0; i < N; i++) CU_ASSERT_EQUAL(m[i], 0);
}

/* ---- occlusion and curves ---------------------------------------------- */

/* f(x) = sum_c,i w_ci x_ci: occluding a set S drops f by
 * sum_{i in S} sum_c w_ci (x_ci - b_ci). */
static double linear(const float *wt, const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)wt[i] * x[i];
    return s;
}

static void test_occlude_linear(void) {
    enum { C = 3, HW = 20 };
    float wt[C * HW], x[C * HW], b[C * HW], out[C * HW];
    uint64_t s = 99;
    for (int i = 0; i < C * HW; i++) {
        wt[i] = ((float)(lcg(&s) % 200) - 100) / 50;
        x[i] = (float)(lcg(&s) % 256) / 255;
        b[i] = (i % 2) ? 0.0f : 0.5f;
    }
    uint8_t m[HW];
    for (int i = 0; i < HW; i++) m[i] = (i * 7) % 5 == 1;
    gad_occlude(out, x, b, m, C, HW);
    double drop = 0;
    for (int i = 0; i < HW; i++)
        if (m[i])
            for (int c = 0; c < C; c++) drop += (double)wt[c * HW + i] * (x[c * HW + i] - b[c * HW + i]);
    CU_ASSERT_DOUBLE_EQUAL(linear(wt, x, C * HW) - linear(wt, out, C * HW), drop, 1e-5);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < HW; i++)
            CU_ASSERT_EQUAL(out[c * HW + i], m[i] ? b[c * HW + i] : x[c * HW + i]);
    /* In place. */
    float y[C * HW];
    memcpy(y, x, sizeof y);
    gad_occlude(y, y, b, m, C, HW);
    CU_ASSERT_EQUAL(memcmp(y, out, sizeof y), 0);

    /* Informative pixels: any channel differing counts. */
    memcpy(y, b, sizeof y);
    y[0 * HW + 3] = 0.25f;  /* channel 0 of pixel 3 */
    y[2 * HW + 17] = 1.0f;  /* channel 2 of pixel 17 */
    y[1 * HW + 8] = b[1 * HW + 8]; /* unchanged */
    uint8_t inf[HW];
    gad_informative_pixels(inf, y, b, C, HW);
    for (int i = 0; i < HW; i++) CU_ASSERT_EQUAL(inf[i], i == 3 || i == 17);
}

static void test_curves(void) {
    enum { C = 2, HW = 16 };
    float wt[C * HW], x[C * HW], b[C * HW], out[C * HW], map[HW];
    uint64_t s = 5;
    for (int i = 0; i < C * HW; i++) {
        wt[i] = ((float)(lcg(&s) % 200) - 100) / 50;
        x[i] = (float)(lcg(&s) % 256) / 255;
        b[i] = 0.1f;
    }
    /* Distinct values: the order is the exact ranking. */
    const int rank[HW] = {5, 12, 0, 9, 3, 15, 7, 1, 14, 10, 2, 8, 13, 4, 11, 6};
    for (int i = 0; i < HW; i++) map[i] = (float)(HW - rank[i]) * 0.5f - 3.0f;
    size_t order[HW];
    gad_curve_order(order, map, HW, 1);
    for (int j = 0; j < HW; j++) CU_ASSERT_EQUAL(rank[order[j]], j);
    /* Deletion: f after removing the first k = f(x) - sum of the removed
     * pixels' contributions; insertion mirrors it from the baseline. */
    double fx = linear(wt, x, C * HW), fb = linear(wt, b, C * HW), removed = 0;
    for (size_t k = 0; k <= HW; k++) {
        gad_curve_input(out, x, b, order, k, C, HW, 0);
        CU_ASSERT_DOUBLE_EQUAL(linear(wt, out, C * HW), fx - removed, 1e-5);
        gad_curve_input(out, x, b, order, k, C, HW, 1);
        CU_ASSERT_DOUBLE_EQUAL(linear(wt, out, C * HW), fb + removed, 1e-5);
        if (k < HW)
            for (int c = 0; c < C; c++) {
                size_t i = c * HW + order[k];
                removed += (double)wt[i] * (x[i] - b[i]);
            }
    }
    gad_curve_input(out, x, b, order, HW, C, HW, 0);
    CU_ASSERT_EQUAL(memcmp(out, b, sizeof out), 0);
    gad_curve_input(out, x, b, order, 999, C, HW, 1); /* k clamped */
    CU_ASSERT_EQUAL(memcmp(out, x, sizeof out), 0);

    /* With many ties the order's prefixes are exactly gad_select_top's
     * selections for the same seed, and the order is a permutation. */
    enum { N = 300 };
    float tm[N];
    size_t ord[N];
    uint8_t mk[N], seen[N];
    for (int i = 0; i < N; i++) tm[i] = (float)(lcg(&s) % 4) - 1.0f;
    tm[7] = NAN;
    for (uint64_t seed = 0; seed < 4; seed++) {
        gad_curve_order(ord, tm, N, seed);
        memset(seen, 0, N);
        for (int j = 0; j < N; j++) seen[ord[j]]++;
        for (int i = 0; i < N; i++) CU_ASSERT_EQUAL(seen[i], 1);
        CU_ASSERT_EQUAL(ord[N - 1], 7);
        for (int j = 1; j < N - 1; j++) CU_ASSERT(tm[ord[j - 1]] >= tm[ord[j]]);
        for (size_t k = 0; k <= N; k += 13) {
            gad_select_top(mk, tm, N, k, seed);
            memset(seen, 0, N);
            for (size_t j = 0; j < k; j++) seen[ord[j]] = 1;
            CU_ASSERT_EQUAL(memcmp(mk, seen, N), 0);
        }
    }
    size_t o0[N], o1[N];
    gad_curve_order(o0, tm, N, 10);
    gad_curve_order(o1, tm, N, 10);
    CU_ASSERT_EQUAL(memcmp(o0, o1, sizeof o0), 0);
    gad_curve_order(o1, tm, N, 11);
    CU_ASSERT_NOT_EQUAL(memcmp(o0, o1, sizeof o0), 0);
}

static void test_auc(void) {
    double xs[11], ys[11];
    for (int i = 0; i <= 10; i++) xs[i] = i / 10.0, ys[i] = 0.7;
    CU_ASSERT_DOUBLE_EQUAL(gad_auc(xs, ys, 11), 0.7, 1e-12);
    for (int i = 0; i <= 10; i++) ys[i] = xs[i];
    CU_ASSERT_DOUBLE_EQUAL(gad_auc(xs, ys, 11), 0.5, 1e-12);
    for (int i = 0; i <= 10; i++) ys[i] = 1 - xs[i];
    CU_ASSERT_DOUBLE_EQUAL(gad_auc(xs, ys, 11), 0.5, 1e-12);
    /* Uneven spacing, linear y = 2x + 1: exact integral 2. */
    const double ux[4] = {0, 0.1, 0.5, 1}, uy[4] = {1, 1.2, 2, 3};
    CU_ASSERT_DOUBLE_EQUAL(gad_auc(ux, uy, 4), 2.0, 1e-12);
    /* y = x^2 at 0, 1/2, 1: (0 + 1/4) / 4 + (1/4 + 1) / 4 = 0.375. */
    const double qx[3] = {0, 0.5, 1}, qy[3] = {0, 0.25, 1};
    CU_ASSERT_DOUBLE_EQUAL(gad_auc(qx, qy, 3), 0.375, 1e-12);
    CU_ASSERT_EQUAL(gad_auc(qx, qy, 1), 0.0);
    CU_ASSERT_EQUAL(gad_auc(qx, qy, 0), 0.0);
}

/* ---- statistics -------------------------------------------------------- */

static void test_mean_std(void) {
    const double v[8] = {2, 4, 4, 4, 5, 5, 7, 9};
    double m, sd;
    gad_mean_std(v, 8, &m, &sd);
    CU_ASSERT_DOUBLE_EQUAL(m, 5.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sd, sqrt(32.0 / 7), 1e-12);
    gad_mean_std(v + 7, 1, &m, &sd);
    CU_ASSERT_DOUBLE_EQUAL(m, 9.0, 1e-12);
    CU_ASSERT_EQUAL(sd, 0.0);
    gad_mean_std(v, 0, &m, &sd);
    CU_ASSERT_EQUAL(m, 0.0);
    /* Large offset, small spread: the two-pass form keeps it exact. */
    const double big[3] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    gad_mean_std(big, 3, NULL, &sd);
    CU_ASSERT_DOUBLE_EQUAL(sd, 1.0, 1e-9);
}

static void test_t_quantile(void) {
    /* Published values (also scipy.stats.t.ppf). */
    CU_ASSERT_DOUBLE_EQUAL(gad_t_quantile(0.975, 1), 12.706204736, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(gad_t_quantile(0.975, 2), 4.302652730, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(gad_t_quantile(0.975, 3), 3.182446305, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(gad_t_quantile(0.975, 5), 2.570581836, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(gad_t_quantile(0.975, 10), 2.228138852, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(gad_t_quantile(0.975, 30), 2.042272456, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(gad_t_quantile(0.975, 100), 1.983971519, 1e-8);
    CU_ASSERT_EQUAL(gad_t_quantile(0.5, 7), 0.0);
    CU_ASSERT(isnan(gad_t_quantile(0.0, 7)));
    CU_ASSERT(isnan(gad_t_quantile(1.0, 7)));
    CU_ASSERT(isnan(gad_t_quantile(NAN, 7)));
    CU_ASSERT(isnan(gad_t_quantile(0.9, 0)));

    FILE *f = fopen(gad_test_data("eval/t_ppf.txt"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    /* Each line: p, df, scipy.stats.t.ppf (good to about 1e-8 only) and the
     * quantile solved with 40-digit mpmath. */
    double p, sci, exact, worst_sci = 0, worst_exact = 0;
    int df, lines = 0, df_seen = 0;
    while (fscanf(f, "%lf %d %lf %lf", &p, &df, &sci, &exact) == 4) {
        lines++;
        double got = gad_t_quantile(p, df);
        double es = fabs(got - sci), ee = fabs(got - exact) / fmax(1.0, fabs(exact));
        if (!(es <= worst_sci)) worst_sci = es;
        if (!(ee <= worst_exact)) worst_exact = ee;
        if (!(es <= 1e-6 && ee <= 1e-12))
            fprintf(stderr, "\n  t(%g, %d) = %.17g, scipy %.17g, exact %.17g\n", p, df, got, sci,
                    exact);
        if (p == 0.975) df_seen++;
    }
    fclose(f);
    CU_ASSERT(df_seen == 1000); /* df = 1..1000 at 0.975 */
    CU_ASSERT(lines > 1000);
    CU_ASSERT(worst_sci <= 1e-6);
    CU_ASSERT(worst_exact <= 1e-12);
}

static void test_paired_ci(void) {
    /* Differences 1, 2, 3, 4: mean 2.5, sd sqrt(5/3) = 1.2910, se 0.6455,
     * t(0.975, 3) = 3.182446305: [0.4457, 4.5543]. */
    const double a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
    double m, lo, hi;
    CU_ASSERT_EQUAL(gad_paired_ci(a, b, 4, &m, &lo, &hi), 0);
    CU_ASSERT_DOUBLE_EQUAL(m, 2.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(lo, 0.4457, 1e-4);
    CU_ASSERT_DOUBLE_EQUAL(hi, 4.5543, 1e-4);
    double half = 3.182446305 * sqrt(5.0 / 3) / 2;
    CU_ASSERT_DOUBLE_EQUAL(lo, 2.5 - half, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(hi, 2.5 + half, 1e-8);
    /* Shifting both samples changes nothing. */
    const double a2[4] = {11, 7, 13, 9}, b2[4] = {10, 5, 10, 5};
    double m2, lo2, hi2;
    CU_ASSERT_EQUAL(gad_paired_ci(a2, b2, 4, &m2, &lo2, &hi2), 0);
    CU_ASSERT_DOUBLE_EQUAL(m2, m, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(lo2, lo, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(hi2, hi, 1e-12);
    CU_ASSERT_EQUAL(gad_paired_ci(a, b, 1, &m, &lo, &hi), GAD_EINVAL);
    const double bad[2] = {1, NAN};
    CU_ASSERT_EQUAL(gad_paired_ci(bad, b, 2, &m, &lo, &hi), GAD_EVALUE);

    /* scipy.stats.t.interval on a random sample of 25 pairs. */
    FILE *f = fopen(gad_test_data("eval/paired_ci.txt"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int n = 0;
    double rm, rlo, rhi, xa[64], xb[64];
    CU_ASSERT_FATAL(fscanf(f, "%d %lf %lf %lf", &n, &rm, &rlo, &rhi) == 4 && n > 1 && n <= 64);
    for (int i = 0; i < n; i++) CU_ASSERT_FATAL(fscanf(f, "%lf %lf", &xa[i], &xb[i]) == 2);
    fclose(f);
    CU_ASSERT_EQUAL(gad_paired_ci(xa, xb, n, &m, &lo, &hi), 0);
    CU_ASSERT_DOUBLE_EQUAL(m, rm, 1e-12);
    /* scipy's t quantile is good to about 1e-8, times a standard error of 0.1. */
    CU_ASSERT_DOUBLE_EQUAL(lo, rlo, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(hi, rhi, 1e-8);
}

static void test_localisation(void) {
    const float map[4] = {1, 3, 3, 2};
    const uint8_t g1[4] = {0, 1, 0, 0}, g2[4] = {0, 0, 1, 1};
    CU_ASSERT_EQUAL(gad_pointing_game(map, g1, 4), 1.0);
    CU_ASSERT_EQUAL(gad_pointing_game(map, g2, 4), 0.0); /* tie goes to index 1 */
    const float nanmap[4] = {NAN, 1, 2, 0};
    CU_ASSERT_EQUAL(gad_pointing_game(nanmap, g2, 4), 1.0);
    CU_ASSERT_EQUAL(gad_pointing_game(map, g1, 0), 0.0);

    const float mm[4] = {1, -2, 3, 0};
    const uint8_t gm[4] = {1, 1, 0, 0};
    CU_ASSERT_DOUBLE_EQUAL(gad_mass_in_mask(mm, gm, 4), 0.25, 1e-12); /* 1 of 1 + 3 */
    const uint8_t all[4] = {1, 1, 1, 1};
    CU_ASSERT_DOUBLE_EQUAL(gad_mass_in_mask(mm, all, 4), 1.0, 1e-12);
    const float neg[3] = {-1, 0, -5};
    CU_ASSERT_EQUAL(gad_mass_in_mask(neg, all, 3), 0.0);
}

/* ---- SVG chart --------------------------------------------------------- */

static int count_sub(const char *s, const char *sub) {
    int c = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) c++;
    return c;
}

/* Files in dir whose name contains ".tmp." (leftover temporaries). */
static int count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int c = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) c++;
    closedir(d);
    return c;
}

static void test_svg(void) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/eval-svg", gad_test_tmpdir());
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/curves.svg", dir);
    double xs[5] = {0, 0.25, 0.5, 0.75, 1};
    double s0[5] = {0, 0.25, 0.5, 0.75, 1}, s1[5] = {1, 0.8, 0.6, 0.5, 0.45}, s2[5] = {3, 3, 3, 3, 3};
    const double *ys[3] = {s0, s1, s2};
    const char *names[3] = {"gad", "plain <top>", "random"};
    gad_err e;
    GAD_ASSERT_OK(gad_svg_curves(path, "deletion: a & b", 3, names, xs, ys, 5, &e), e);
    size_t size = 0;
    char *txt = gad_test_read_file(path, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(txt);
    char *z = realloc(txt, size + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    txt = z;
    txt[size] = 0;
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "<svg"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "</svg>"));
    CU_ASSERT_EQUAL(count_sub(txt, "<polyline"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "deletion: a &amp; b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "plain &lt;top&gt;"));
    CU_ASSERT_PTR_NULL(strstr(txt, "<top>"));
    /* Distinct colours. */
    char col[3][16];
    const char *p = txt;
    for (int s = 0; s < 3; s++) {
        p = strstr(p, "<polyline");
        CU_ASSERT_FATAL(p && sscanf(strstr(p, "stroke=\"") + 8, "%15[^\"]", col[s]) == 1);
        p++;
    }
    CU_ASSERT(strcmp(col[0], col[1]) && strcmp(col[0], col[2]) && strcmp(col[1], col[2]));
    /* The rising series: x from left to right, y upwards (SVG y shrinks). */
    p = strstr(strstr(txt, "<polyline"), "points=\"") + 8;
    double px[5], py[5];
    for (int i = 0; i < 5; i++) {
        int used = 0;
        CU_ASSERT_FATAL(sscanf(p, "%lf,%lf%n", &px[i], &py[i], &used) == 2);
        p += used;
    }
    for (int i = 1; i < 5; i++) {
        CU_ASSERT(px[i] > px[i - 1]);
        CU_ASSERT(py[i] < py[i - 1]);
        /* Equal steps in x and y map to equal steps on the canvas. */
        CU_ASSERT_DOUBLE_EQUAL(px[i] - px[i - 1], px[1] - px[0], 0.02);
        CU_ASSERT_DOUBLE_EQUAL(py[i] - py[i - 1], py[1] - py[0], 0.02);
    }
    free(txt);
    CU_ASSERT_EQUAL(count_tmp(dir), 0);

    /* Failures: missing folder (open fails), a folder in the way (rename
     * fails), bad values; none leaves a temporary or a file behind. */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.svg", dir);
    CU_ASSERT_EQUAL(gad_svg_curves(bad, "t", 3, names, xs, ys, 5, &e), GAD_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad));
    snprintf(bad, sizeof bad, "%s/taken.svg", dir);
    CU_ASSERT_EQUAL(mkdir(bad, 0777), 0);
    CU_ASSERT_EQUAL(gad_svg_curves(bad, "t", 3, names, xs, ys, 5, &e), GAD_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "taken.svg"));
    CU_ASSERT_EQUAL(count_tmp(dir), 0);
    snprintf(bad, sizeof bad, "%s/nan.svg", dir);
    s1[2] = NAN;
    CU_ASSERT_EQUAL(gad_svg_curves(bad, "t", 3, names, xs, ys, 5, &e), GAD_EVALUE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "nan.svg"));
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(bad, &st), 0);
    CU_ASSERT_EQUAL(gad_svg_curves(bad, "t", 0, names, xs, ys, 5, &e), GAD_EINVAL);
    CU_ASSERT_EQUAL(gad_svg_curves(bad, "t", 3, names, xs, ys, 0, NULL), GAD_EINVAL);
    CU_ASSERT_EQUAL(count_tmp(dir), 0);
}

void gad_test_register_eval(void) {
    static const gad_test_case t[] = {
        {"hull_shapes", test_hull_shapes},
        {"hull_degenerate", test_hull_degenerate},
        {"hull_random_vs_gift_wrapping", test_hull_random},
        {"regions_hand", test_regions_hand},
        {"regions_spiral", test_regions_spiral},
        {"regions_random_vs_flood_fill", test_regions_random},
        {"gini", test_gini},
        {"select_top", test_select_top},
        {"select_top_share", test_select_top_share},
        {"select_random", test_select_random},
        {"occlude_linear", test_occlude_linear},
        {"curves", test_curves},
        {"auc", test_auc},
        {"mean_std", test_mean_std},
        {"t_quantile", test_t_quantile},
        {"paired_ci", test_paired_ci},
        {"localisation", test_localisation},
        {"svg", test_svg},
        {0, 0}};
    gad_test_add_suite("eval", t);
}
