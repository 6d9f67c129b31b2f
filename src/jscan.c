/*
 * jscan: the byte scanners behind JSON strings (pure: no logging, no
 * exit, no I/O): UTF-8 validation, the escaped length of bytes and their
 * escaping, U+FFFD for bytes outside valid UTF-8.
 *
 * Every byte a child writes goes through the UTF-8 check and the escape
 * count or rendering here, so they look at sixteen bytes at a time with
 * SSE2 (every x86-64), and the UTF-8 check and the count, which bound the
 * CPU the daemon spends on output nobody reads, at thirty-two with AVX2
 * where the CPU has it (chosen at run time: the build assumes only SSE2).
 * A portable path, a table-driven automaton, gives the same results; tests
 * force each path with jscan_force_path.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__SSE2__) && defined(__GNUC__)
#define JSCAN_AVX2 /* built with target("avx2") functions */
#include <immintrin.h>
#endif

#include "spawnfs/jscan.h"

/*
 * Which path the byte scanners below take: the AVX2 one (thirty-two bytes
 * at a time, where the CPU has it), the SSE2 one (sixteen, every x86-64)
 * or the portable one, byte by byte. All must give the same results, so
 * tests can ask for each (forced; JSCAN_PATH_AUTO when none is). best, the
 * fastest there is, is found at the first call. These two are the only
 * mutable globals outside main.c and log.c, on purpose: what the CPU can
 * do is a fact of the process, not of any object a caller could pass, and
 * forcing a path is for the tests and fuzzers alone.
 */
static enum jscan_path forced, best;

/* The fastest path this build has and this CPU runs. */
static enum jscan_path best_path(void)
{
	if (best == JSCAN_PATH_AUTO) {
		best = JSCAN_PATH_SCALAR;
#ifdef __SSE2__
		best = JSCAN_PATH_SSE2;
#endif
#ifdef JSCAN_AVX2
		if (__builtin_cpu_supports("avx2"))
			best = JSCAN_PATH_AVX2;
#endif
	}
	return best;
}

static enum jscan_path path_now(void)
{
	return forced != JSCAN_PATH_AUTO ? forced : best_path();
}

int jscan_force_path(enum jscan_path path)
{
	if ((unsigned)path > JSCAN_PATH_SCALAR)
		return -EINVAL;
	/* SSE2 is there whenever any vector path is */
	if ((path == JSCAN_PATH_AVX2 && best_path() != JSCAN_PATH_AVX2) ||
	    (path == JSCAN_PATH_SSE2 && best_path() == JSCAN_PATH_SCALAR))
		return -ENOTSUP;
	forced = path;
	return 0;
}

/* Tables with one row per byte value, built by the preprocessor. */
#define ROWS4(f, c) f(c), f((c) + 1), f((c) + 2), f((c) + 3)
#define ROWS16(f, c) \
	ROWS4(f, c), ROWS4(f, (c) + 4), ROWS4(f, (c) + 8), ROWS4(f, (c) + 12)
#define ROWS64(f, c)                                            \
	ROWS16(f, c), ROWS16(f, (c) + 16), ROWS16(f, (c) + 32), \
		ROWS16(f, (c) + 48)
#define ROWS256(f) ROWS64(f, 0), ROWS64(f, 64), ROWS64(f, 128), ROWS64(f, 192)

/*
 * UTF-8 (RFC 3629) as an automaton. A state is a multiple of 6 below 64,
 * and a byte's row holds at bit s the state that follows state s on that
 * byte, so that a step is one shift: s = utf8_dfa[c] >> s & 63. Bytes
 * that no state accepts lead to U8_BAD, which keeps it.
 */
enum {
	U8_BAD = 0,
	U8_OK = 6,     /* between sequences */
	U8_TAIL1 = 12, /* 1, 2 or 3 continuation bytes (80..BF) to go */
	U8_TAIL2 = 18,
	U8_TAIL3 = 24,
	U8_E0 = 30, /* then A0..BF: shorter forms are overlong */
	U8_ED = 36, /* then 80..9F: above are surrogates */
	U8_F0 = 42, /* then 90..BF: shorter forms are overlong */
	U8_F4 = 48, /* then 80..8F: above is beyond U+10FFFF */
};

#define U8_GO(from, to) ((uint64_t)(to) << (from))
#define U8_TAILS                                              \
	(U8_GO(U8_TAIL1, U8_OK) | U8_GO(U8_TAIL2, U8_TAIL1) | \
	 U8_GO(U8_TAIL3, U8_TAIL2))
#define U8_ROW(c)                                                             \
	((c) < 0x80 ? U8_GO(U8_OK, U8_OK)                                     \
	 : (c) < 0x90                                                         \
		 ? U8_TAILS | U8_GO(U8_ED, U8_TAIL1) | U8_GO(U8_F4, U8_TAIL2) \
	 : (c) < 0xa0                                                         \
		 ? U8_TAILS | U8_GO(U8_ED, U8_TAIL1) | U8_GO(U8_F0, U8_TAIL2) \
	 : (c) < 0xc0                                                         \
		 ? U8_TAILS | U8_GO(U8_E0, U8_TAIL1) | U8_GO(U8_F0, U8_TAIL2) \
	 : (c) < 0xc2  ? 0                                                    \
	 : (c) < 0xe0  ? U8_GO(U8_OK, U8_TAIL1)                               \
	 : (c) == 0xe0 ? U8_GO(U8_OK, U8_E0)                                  \
	 : (c) == 0xed ? U8_GO(U8_OK, U8_ED)                                  \
	 : (c) < 0xf0  ? U8_GO(U8_OK, U8_TAIL2)                               \
	 : (c) == 0xf0 ? U8_GO(U8_OK, U8_F0)                                  \
	 : (c) < 0xf4  ? U8_GO(U8_OK, U8_TAIL3)                               \
	 : (c) == 0xf4 ? U8_GO(U8_OK, U8_F4)                                  \
		       : 0)

static const uint64_t utf8_dfa[256] = {ROWS256(U8_ROW)};

/*
 * The UTF-8 sequence at p[0..n) (n >= 1): its length 1..4 when complete
 * and valid, 0 when invalid (bad lead or continuation, overlong,
 * surrogate, above U+10FFFF), or -k when the k < needed bytes available
 * are a valid start that the end of input cut short.
 */
static int utf8_seq(const unsigned char *p, size_t n)
{
	unsigned s = U8_OK;
	size_t i;

	for (i = 0; i < n; i++) {
		s = (unsigned)(utf8_dfa[p[i]] >> s) & 63;
		if (s == U8_OK)
			return (int)i + 1;
		if (s == U8_BAD)
			return 0;
	}
	return -(int)i;
}

size_t utf8_cut_tail(const unsigned char *p, size_t n)
{
	size_t k;
	int r;

	for (k = 1; k <= 3 && k <= n; k++) {
		if (p[n - k] < 0x80)
			return 0;
		if (p[n - k] >= 0xc0) {
			r = utf8_seq(p + n - k, k);
			return r < 0 ? k : 0;
		}
	}
	return 0;
}

/* Length of the ASCII run at p, eight bytes at a time. */
static size_t ascii_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ULL)
			break;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

/* utf8_valid_prefix, byte by byte through the automaton, and ASCII runs
 * eight bytes at a time. */
static size_t utf8_prefix_walk(const unsigned char *p, size_t n,
			       size_t *partial)
{
	size_t i = 0, start = 0; /* start: of the sequence at hand */
	unsigned s = U8_OK;

	while (i < n) {
		if (s == U8_OK) {
			start = i;
			if (p[i] < 0x80) {
				i += ascii_run(p + i, n - i);
				continue;
			}
		}
		s = (unsigned)(utf8_dfa[p[i]] >> s) & 63;
		if (s == U8_BAD)
			break;
		i++;
	}
	if (partial)
		*partial = s != U8_OK && s != U8_BAD ? n - start : 0;
	return s == U8_OK ? i : start;
}

/* Bytes that go out as they are: printable ASCII but '"' and '\\'. */
static bool json_plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Whether none of the eight bytes in w needs care: each is printable
 * ASCII and neither '"' nor '\\'. Exact as a whole-word answer (a borrow
 * or carry only spreads from a byte that is flagged anyway). */
static bool json_plain_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
	uint64_t bad = ((w - ones * 0x20) & ~w) | /* below 0x20 */
		       ((w + ones) | w) |	  /* 0x7f and above */
		       ((q - ones) & ~q) | ((bs - ones) & ~bs);

	return !(bad & high);
}

/* Length of the run of plain bytes at the start of p[0..n), eight bytes
 * at a time. */
static size_t json_plain_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

	while (i + 8 <= n && (memcpy(&w, p + i, 8), json_plain_word(w)))
		i += 8;
	while (i < n && json_plain_ascii(p[i]))
		i++;
	return i;
}

/* The letter of a byte's two-character escape; 0 for none. */
#define JSON_SHORT(c)         \
	((c) == '"'    ? '"'  \
	 : (c) == '\\' ? '\\' \
	 : (c) == '\b' ? 'b'  \
	 : (c) == '\t' ? 't'  \
	 : (c) == '\n' ? 'n'  \
	 : (c) == '\f' ? 'f'  \
	 : (c) == '\r' ? 'r'  \
		       : 0)
/* What a byte that is ASCII or part of a valid sequence becomes: itself,
 * a two-character escape, or \u00xx for the other controls and DEL. */
#define JSON_LEN(c) (JSON_SHORT(c) ? 2 : (c) < 0x20 || (c) == 0x7f ? 6 : 1)
#define JSON_HEX(d) ('0' + (d) + ('a' - '0' - 10) * ((d) / 10))
#define JSON_ROW(c)                                                            \
	{                                                                      \
		JSON_LEN(c) == 1 ? (c) : '\\',                                 \
			JSON_SHORT(c) ? JSON_SHORT(c) : 'u', '0', '0',         \
			JSON_HEX((c) / 16), JSON_HEX((c) % 16), 0, JSON_LEN(c) \
	}

/* By byte: its output in the first bytes (stored eight at once, so that
 * there is no branch on the length), and that length in the last. */
static const unsigned char json_out[256][8] = {ROWS256(JSON_ROW)};

/* Each byte by the table; for ASCII and bytes of valid sequences. */
static char *json_put_bytes(char *o, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(o, json_out[p[i]], 8);
		o += json_out[p[i]][7];
	}
	return o;
}

/*
 * Render p[*pi..n) one plain run, byte or sequence at a time, until the
 * first sequence boundary at or after stop, where *pi is left.
 */
static char *json_put_walk(char *o, const unsigned char *p, size_t n,
			   size_t *pi, size_t stop)
{
	size_t i = *pi, run;
	int r;

	while (i < stop) {
		if (json_plain_ascii(p[i])) {
			run = json_plain_run(p + i, stop - i);
			memcpy(o, p + i, run);
			o += run;
			i += run;
			continue;
		}
		r = p[i] >= 0x80 ? utf8_seq(p + i, n - i) : 1;
		if (r > 0) {
			o = json_put_bytes(o, p + i, (size_t)r);
			i += (size_t)r;
		} else {
			memcpy(o, "\\ufffd", 6);
			o += 6;
			i++;
		}
	}
	*pi = i;
	return o;
}

/* The length json_put_walk gives the same bytes. */
static size_t json_len_walk(const unsigned char *p, size_t n, size_t *pi,
			    size_t stop)
{
	size_t i = *pi, len = 0, run;
	int r;

	while (i < stop) {
		if (json_plain_ascii(p[i])) {
			run = json_plain_run(p + i, stop - i);
			len += run;
			i += run;
		} else if (p[i] < 0x80) {
			len += json_out[p[i++]][7];
		} else {
			r = utf8_seq(p + i, n - i);
			len += r > 0 ? (size_t)r : 6;
			i += r > 0 ? (size_t)r : 1;
		}
	}
	*pi = i;
	return len;
}

#ifdef __SSE2__
/* The per-block helpers below only pay off inlined into their loops. */
#define SSE2_INLINE static inline __attribute__((always_inline))

/* After a byte that starts no valid sequence, how far the byte walk goes
 * before the sixteen-byte scan is tried again. */
#define WALK_AFTER_BAD 64

SSE2_INLINE __m128i load16(const unsigned char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* In block v, the bytes after E0, ED, F0 and F4 (p1: the bytes one
 * before) that are out of that lead's narrower range; nonzero there. */
SSE2_INLINE __m128i utf8_second_bad(__m128i v, __m128i p1)
{
	__m128i e0 = _mm_cmpeq_epi8(p1, _mm_set1_epi8((char)0xe0));
	__m128i ed = _mm_cmpeq_epi8(p1, _mm_set1_epi8((char)0xed));
	__m128i f0 = _mm_cmpeq_epi8(p1, _mm_set1_epi8((char)0xf0));
	__m128i f4 = _mm_cmpeq_epi8(p1, _mm_set1_epi8((char)0xf4));
	__m128i lo, hi;

	/* Rare in most text: mostly nothing to do. */
	if (!_mm_movemask_epi8(
		    _mm_or_si128(_mm_or_si128(e0, ed), _mm_or_si128(f0, f4))))
		return _mm_setzero_si128();
	/* v below A0 after E0, below 90 after F0 */
	lo = _mm_or_si128(_mm_and_si128(e0, _mm_set1_epi8((char)0xa0)),
			  _mm_and_si128(f0, _mm_set1_epi8((char)0x90)));
	/* v from A0 after ED, from 90 after F4: v plus 5F or 6F reaches
	 * FF (elsewhere only FF itself does, which is invalid anyway) */
	hi = _mm_or_si128(_mm_and_si128(ed, _mm_set1_epi8(0x5f)),
			  _mm_and_si128(f4, _mm_set1_epi8(0x6f)));
	hi = _mm_cmpeq_epi8(_mm_adds_epu8(v, hi), _mm_set1_epi8((char)0xff));
	return _mm_or_si128(_mm_subs_epu8(lo, v), hi);
}

/*
 * Whether block v breaks UTF-8; p1, p2 and p3 hold the bytes one, two and
 * three places before each of its bytes. A byte must be a continuation
 * (80..BF) exactly when a lead one to three bytes back asks for one (C0
 * and up, E0 and up, F0 and up); C0, C1 and F5..FF never appear; and the
 * byte after E0, ED, F0 or F4 has a narrower range. A sequence that the
 * block's end leaves open is the next block's business.
 */
SSE2_INLINE bool utf8_block_bad(__m128i v, __m128i p1, __m128i p2, __m128i p3)
{
	const __m128i zero = _mm_setzero_si128();
	__m128i cont = _mm_cmpgt_epi8(_mm_set1_epi8((char)0xc0), v);
	__m128i want, bad;

	/* zero where no lead asks for a continuation */
	want = _mm_or_si128(_mm_subs_epu8(p1, _mm_set1_epi8((char)0xbf)),
			    _mm_subs_epu8(p2, _mm_set1_epi8((char)0xdf)));
	want = _mm_or_si128(want, _mm_subs_epu8(p3, _mm_set1_epi8((char)0xef)));
	bad = _mm_cmpeq_epi8(_mm_cmpeq_epi8(want, zero), cont);
	bad = _mm_or_si128(
		bad, _mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8((char)0xfe)),
				    _mm_set1_epi8((char)0xc0)));
	bad = _mm_or_si128(bad, _mm_subs_epu8(v, _mm_set1_epi8((char)0xf4)));
	bad = _mm_or_si128(bad, utf8_second_bad(v, p1));
	return _mm_movemask_epi8(_mm_cmpeq_epi8(bad, zero)) != 0xffff;
}

/* Whether the block v at p + i breaks UTF-8, where i is 0 or at least 3;
 * skipped at once when it and the three bytes before it are ASCII. */
SSE2_INLINE bool utf8_bad_at(const unsigned char *p, size_t i, __m128i v)
{
	__m128i p3;

	if (i == 0)
		return _mm_movemask_epi8(v) &&
		       utf8_block_bad(v, _mm_slli_si128(v, 1),
				      _mm_slli_si128(v, 2),
				      _mm_slli_si128(v, 3));
	p3 = load16(p + i - 3);
	if (!_mm_movemask_epi8(_mm_or_si128(v, p3)))
		return false;
	return utf8_block_bad(v, load16(p + i - 1), load16(p + i - 2), p3);
}

/* The start of the sequence that position i cuts, or i, when p[0..i) is
 * valid but for its end. */
static size_t utf8_seq_start(const unsigned char *p, size_t i)
{
	size_t k;
	unsigned char b;

	for (k = 1; k <= 3 && k <= i; k++) {
		b = p[i - k];
		if (b < 0x80)
			break;
		if (b >= 0xc0) {
			if ((b >= 0xf0 ? 4u : b >= 0xe0 ? 3u : 2u) > k)
				return i - k;
			break;
		}
	}
	return i;
}

/*
 * A sequence boundary b <= n such that p[0..b) is valid UTF-8, found
 * sixteen bytes at a time from i (0, or where blocks before were found
 * valid but for a sequence left open): the caller finishes from b byte by
 * byte (the last bytes, or the block where something is wrong).
 */
static size_t utf8_valid_blocks(const unsigned char *p, size_t i, size_t n)
{
	for (; i + 16 <= n; i += 16)
		if (utf8_bad_at(p, i, load16(p + i)))
			break;
	return utf8_seq_start(p, i);
}

static size_t utf8_prefix_sse2(const unsigned char *p, size_t n,
			       size_t *partial)
{
	size_t i = utf8_valid_blocks(p, 0, n);

	return i + utf8_prefix_walk(p + i, n - i, partial);
}

/* Bytes below 0x20 and DEL in v: those that have an escape, \u00xx but
 * for the few with a short form. */
SSE2_INLINE __m128i json_control(__m128i v)
{
	return _mm_or_si128(
		_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v),
		_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
}

/* '"' and '\\' in v. */
SSE2_INLINE __m128i json_quote(__m128i v)
{
	return _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
}

/* The bytes of v that have an escape. */
SSE2_INLINE __m128i json_special(__m128i v)
{
	return _mm_or_si128(json_control(v), json_quote(v));
}

/* \b \t \n \f \r in v: 8 to 13 but 11. */
SSE2_INLINE __m128i json_short_control(__m128i v)
{
	__m128i t = _mm_sub_epi8(v, _mm_set1_epi8(8));

	t = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(5)), t);
	return _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(11)), t);
}

/* The sum of the sixteen bytes of v. */
static size_t sum16(__m128i v)
{
	uint64_t half[2];

	_mm_storeu_si128((__m128i *)(void *)half,
			 _mm_sad_epu8(v, _mm_setzero_si128()));
	return (size_t)(half[0] + half[1]);
}

/* What escapes add: the \u00xx escapes (5 bytes more) and the short
 * ones (1 more), counted per byte lane and summed up before a lane can
 * overflow. */
struct esc_count {
	__m128i six, two;
	size_t sum;
	unsigned blocks;
};

SSE2_INLINE void esc_count_block(struct esc_count *c, __m128i v)
{
	__m128i ctl = json_control(v), quote = json_quote(v), sh;

	if (!_mm_movemask_epi8(_mm_or_si128(ctl, quote)))
		return;
	sh = json_short_control(v);
	/* a mask byte is -1: subtracting it counts one */
	c->six = _mm_sub_epi8(c->six, _mm_andnot_si128(sh, ctl));
	c->two = _mm_sub_epi8(c->two, _mm_or_si128(sh, quote));
	if (++c->blocks == 255) {
		c->sum += 5 * sum16(c->six) + sum16(c->two);
		c->six = c->two = _mm_setzero_si128();
		c->blocks = 0;
	}
}

/* The count so far, for n bytes. */
static size_t esc_count_end(const struct esc_count *c)
{
	return c->sum + 5 * sum16(c->six) + sum16(c->two);
}

/* The output length of valid UTF-8 p[0..n), quotes not included. */
static size_t json_valid_len_sse2(const unsigned char *p, size_t n)
{
	struct esc_count c = {_mm_setzero_si128(), _mm_setzero_si128(), n, 0};
	size_t i, len;

	for (i = 0; i + 16 <= n; i += 16)
		esc_count_block(&c, load16(p + i));
	len = esc_count_end(&c);
	for (; i < n; i++)
		len += json_out[p[i]][7] - 1u;
	return len;
}

/*
 * Whether p[0..n) is valid UTF-8 and, if so, the output length of p[i..n)
 * in *len: json_valid_len_sse2 and utf8_valid_blocks in one pass, for
 * output that is counted and not rendered. i is 0, or where blocks before
 * were found valid but for a sequence left open.
 */
static bool json_text_len_sse2(const unsigned char *p, size_t i, size_t n,
			       size_t *len)
{
	struct esc_count c = {_mm_setzero_si128(), _mm_setzero_si128(), n - i,
			      0};
	size_t j;

	for (; i + 16 <= n; i += 16) {
		__m128i v = load16(p + i);

		if (utf8_bad_at(p, i, v))
			return false;
		esc_count_block(&c, v);
	}
	j = utf8_seq_start(p, i);
	if (utf8_prefix_walk(p + j, n - j, NULL) != n - j)
		return false;
	*len = esc_count_end(&c);
	for (; i < n; i++)
		*len += json_out[p[i]][7] - 1u;
	return true;
}

#ifdef JSCAN_AVX2
/*
 * The UTF-8 check and the escape count again, thirty-two bytes at a time,
 * for CPUs with AVX2: the same steps as the SSE2 helpers above on twice
 * the width. The build does not assume AVX2, so only these functions may
 * use it, and only once best_path found it. What is left after the last
 * full block goes on with the SSE2 functions.
 */
#define AVX2_FN	    static __attribute__((target("avx2")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2")))

AVX2_INLINE __m256i load32(const unsigned char *p)
{
	return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* utf8_second_bad on thirty-two bytes. */
AVX2_INLINE __m256i utf8_second_bad32(__m256i v, __m256i p1)
{
	__m256i e0 = _mm256_cmpeq_epi8(p1, _mm256_set1_epi8((char)0xe0));
	__m256i ed = _mm256_cmpeq_epi8(p1, _mm256_set1_epi8((char)0xed));
	__m256i f0 = _mm256_cmpeq_epi8(p1, _mm256_set1_epi8((char)0xf0));
	__m256i f4 = _mm256_cmpeq_epi8(p1, _mm256_set1_epi8((char)0xf4));
	__m256i any, lo, hi;

	any = _mm256_or_si256(_mm256_or_si256(e0, ed), _mm256_or_si256(f0, f4));
	if (_mm256_testz_si256(any, any))
		return _mm256_setzero_si256();
	lo = _mm256_or_si256(
		_mm256_and_si256(e0, _mm256_set1_epi8((char)0xa0)),
		_mm256_and_si256(f0, _mm256_set1_epi8((char)0x90)));
	hi = _mm256_or_si256(_mm256_and_si256(ed, _mm256_set1_epi8(0x5f)),
			     _mm256_and_si256(f4, _mm256_set1_epi8(0x6f)));
	hi = _mm256_cmpeq_epi8(_mm256_adds_epu8(v, hi),
			       _mm256_set1_epi8((char)0xff));
	return _mm256_or_si256(_mm256_subs_epu8(lo, v), hi);
}

/* utf8_block_bad on thirty-two bytes. */
AVX2_INLINE bool utf8_block_bad32(__m256i v, __m256i p1, __m256i p2, __m256i p3)
{
	__m256i cont = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)0xc0), v);
	__m256i want, bad;

	want = _mm256_or_si256(
		_mm256_subs_epu8(p1, _mm256_set1_epi8((char)0xbf)),
		_mm256_subs_epu8(p2, _mm256_set1_epi8((char)0xdf)));
	want = _mm256_or_si256(
		want, _mm256_subs_epu8(p3, _mm256_set1_epi8((char)0xef)));
	bad = _mm256_cmpeq_epi8(_mm256_cmpeq_epi8(want, _mm256_setzero_si256()),
				cont);
	bad = _mm256_or_si256(
		bad, _mm256_cmpeq_epi8(
			     _mm256_and_si256(v, _mm256_set1_epi8((char)0xfe)),
			     _mm256_set1_epi8((char)0xc0)));
	bad = _mm256_or_si256(
		bad, _mm256_subs_epu8(v, _mm256_set1_epi8((char)0xf4)));
	bad = _mm256_or_si256(bad, utf8_second_bad32(v, p1));
	return !_mm256_testz_si256(bad, bad);
}

/* utf8_bad_at on thirty-two bytes, where i is 0 or at least 3. */
AVX2_INLINE bool utf8_bad_at32(const unsigned char *p, size_t i, __m256i v)
{
	__m256i p3, lo;

	if (i == 0) {
		if (!_mm256_movemask_epi8(v))
			return false;
		/* v moved up one to three bytes, zeros coming in: alignr
		 * shifts within each half, so the high half takes its bytes
		 * before from lo, which holds zeros and the low half */
		lo = _mm256_permute2x128_si256(v, v, 0x08);
		return utf8_block_bad32(v, _mm256_alignr_epi8(v, lo, 15),
					_mm256_alignr_epi8(v, lo, 14),
					_mm256_alignr_epi8(v, lo, 13));
	}
	p3 = load32(p + i - 3);
	if (!_mm256_movemask_epi8(_mm256_or_si256(v, p3)))
		return false;
	return utf8_block_bad32(v, load32(p + i - 1), load32(p + i - 2), p3);
}

/* utf8_prefix_sse2, the SSE2 blocks going on from the last full block of
 * thirty-two or from the first half of a bad one. */
AVX2_FN size_t utf8_prefix_avx2(const unsigned char *p, size_t n,
				size_t *partial)
{
	size_t i;

	for (i = 0; i + 32 <= n; i += 32)
		if (utf8_bad_at32(p, i, load32(p + i)))
			break;
	i = utf8_valid_blocks(p, i, n);
	return i + utf8_prefix_walk(p + i, n - i, partial);
}

/* json_control, json_quote and json_short_control on thirty-two bytes. */
AVX2_INLINE __m256i json_control32(__m256i v)
{
	return _mm256_or_si256(
		_mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)),
				  v),
		_mm256_cmpeq_epi8(v, _mm256_set1_epi8(0x7f)));
}

AVX2_INLINE __m256i json_quote32(__m256i v)
{
	return _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
			       _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')));
}

AVX2_INLINE __m256i json_short_control32(__m256i v)
{
	__m256i t = _mm256_sub_epi8(v, _mm256_set1_epi8(8));

	t = _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(5)), t);
	return _mm256_andnot_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(11)),
				   t);
}

/* The sum of the thirty-two bytes of v. */
AVX2_INLINE size_t sum32(__m256i v)
{
	uint64_t q[4];

	_mm256_storeu_si256((__m256i *)(void *)q,
			    _mm256_sad_epu8(v, _mm256_setzero_si256()));
	return (size_t)(q[0] + q[1] + q[2] + q[3]);
}

/* struct esc_count on thirty-two lanes. */
struct esc_count32 {
	__m256i six, two;
	size_t sum;
	unsigned blocks;
};

AVX2_INLINE void esc_count_block32(struct esc_count32 *c, __m256i v)
{
	__m256i ctl = json_control32(v), quote = json_quote32(v), sh;

	if (!_mm256_movemask_epi8(_mm256_or_si256(ctl, quote)))
		return;
	sh = json_short_control32(v);
	c->six = _mm256_sub_epi8(c->six, _mm256_andnot_si256(sh, ctl));
	c->two = _mm256_sub_epi8(c->two, _mm256_or_si256(sh, quote));
	if (++c->blocks == 255) {
		c->sum += 5 * sum32(c->six) + sum32(c->two);
		c->six = c->two = _mm256_setzero_si256();
		c->blocks = 0;
	}
}

AVX2_INLINE size_t esc_count_end32(const struct esc_count32 *c)
{
	return c->sum + 5 * sum32(c->six) + sum32(c->two);
}

/* json_valid_len_sse2 by blocks of thirty-two, the last bytes by it. */
AVX2_FN size_t json_valid_len_avx2(const unsigned char *p, size_t n)
{
	struct esc_count32 c = {_mm256_setzero_si256(), _mm256_setzero_si256(),
				0, 0};
	size_t i;

	for (i = 0; i + 32 <= n; i += 32)
		esc_count_block32(&c, load32(p + i));
	return i + esc_count_end32(&c) + json_valid_len_sse2(p + i, n - i);
}

/* json_text_len_sse2 by blocks of thirty-two, the last bytes by it. */
AVX2_FN bool json_text_len_avx2(const unsigned char *p, size_t n, size_t *len)
{
	struct esc_count32 c = {_mm256_setzero_si256(), _mm256_setzero_si256(),
				0, 0};
	size_t i, rest;

	for (i = 0; i + 32 <= n; i += 32) {
		__m256i v = load32(p + i);

		if (utf8_bad_at32(p, i, v))
			return false;
		esc_count_block32(&c, v);
	}
	if (!json_text_len_sse2(p, i, n, &rest))
		return false;
	*len = i + esc_count_end32(&c) + rest;
	return true;
}
#endif

/* The scanners that have an AVX2 twin: it where that path is in force,
 * else the SSE2 one. */
static size_t utf8_prefix_vec(const unsigned char *p, size_t n, size_t *partial)
{
#ifdef JSCAN_AVX2
	if (path_now() == JSCAN_PATH_AVX2)
		return utf8_prefix_avx2(p, n, partial);
#endif
	return utf8_prefix_sse2(p, n, partial);
}

static size_t json_valid_len_vec(const unsigned char *p, size_t n)
{
#ifdef JSCAN_AVX2
	if (path_now() == JSCAN_PATH_AVX2)
		return json_valid_len_avx2(p, n);
#endif
	return json_valid_len_sse2(p, n);
}

static bool json_text_len_vec(const unsigned char *p, size_t n, size_t *len)
{
#ifdef JSCAN_AVX2
	if (path_now() == JSCAN_PATH_AVX2)
		return json_text_len_avx2(p, n, len);
#endif
	return json_text_len_sse2(p, 0, n, len);
}

/* json_put_bytes for sixteen bytes, each read once (x86 is little-endian:
 * a row's length is its top byte). */
static char *json_put_block(char *o, const unsigned char *p)
{
	uint64_t row;
	unsigned k;

#pragma GCC unroll 16
	for (k = 0; k < 16; k++) {
		memcpy(&row, json_out[p[k]], 8);
		memcpy(o, &row, 8);
		o += row >> 56;
	}
	return o;
}

/* At most this many escapes in a block go between stores of the plain
 * bytes around them; more go byte by byte through the table. */
#define FEW_ESCAPES 3

/* Whether mask m has more than FEW_ESCAPES bits set. */
static bool many_bits(unsigned m)
{
	int k;

	for (k = 0; k < FEW_ESCAPES && m; k++)
		m &= m - 1;
	return m != 0;
}

/*
 * The block v at p (valid UTF-8; left: bytes from p to the end of input).
 * Without escapes it is one store; with a few, as in a line of text or
 * ANSI colours, each escape goes between stores of the plain bytes after
 * it (which read past the block, so only where the input goes on far
 * enough); with many, byte by byte.
 */
SSE2_INLINE char *json_put_block16(char *o, const unsigned char *p, __m128i v,
				   size_t left)
{
	unsigned m = (unsigned)_mm_movemask_epi8(json_special(v)), k;
	unsigned next = 0; /* the first byte not yet written */
	uint64_t row;

	_mm_storeu_si128((__m128i *)(void *)o, v);
	if (!m)
		return o + 16;
	if (left < 32 || many_bits(m))
		return json_put_block(o, p);
	do {
		k = (unsigned)__builtin_ctz(m);
		o += k - next;
		memcpy(&row, json_out[p[k]], 8);
		memcpy(o, &row, 8);
		o += row >> 56;
		next = k + 1;
		_mm_storeu_si128((__m128i *)(void *)o, load16(p + next));
		m &= m - 1;
	} while (m);
	return o + 16 - next;
}

/* Render valid UTF-8: a block without escapes in one store. */
static char *json_put_valid_sse2(char *o, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 16 <= n; i += 16)
		o = json_put_block16(o, p + i, load16(p + i), n - i);
	return json_put_bytes(o, p + i, n - i);
}

/* json_put_valid_sse2 and utf8_valid_blocks in one pass, for output that
 * is rendered if it is valid UTF-8: NULL as soon as it is not (what was
 * written is then to be dropped). */
static char *json_put_text_from_sse2(char *o, const unsigned char *p, size_t i,
				     size_t n)
{
	size_t j;

	for (; i + 16 <= n; i += 16) {
		__m128i v = load16(p + i);

		if (utf8_bad_at(p, i, v))
			return NULL;
		o = json_put_block16(o, p + i, v, n - i);
	}
	j = utf8_seq_start(p, i);
	if (utf8_prefix_walk(p + j, n - j, NULL) != n - j)
		return NULL;
	return json_put_bytes(o, p + i, n - i);
}

static char *json_put_text_sse2(char *o, const unsigned char *p, size_t n)
{
	return json_put_text_from_sse2(o, p, 0, n);
}

#ifdef JSCAN_AVX2
/* json_put_text_sse2 by blocks of thirty-two: one store for a block
 * without escapes (most of any text), the SSE2 writer for each half of
 * one with; the last bytes by it. */
AVX2_FN char *json_put_text_avx2(char *o, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 32 <= n; i += 32) {
		__m256i v = load32(p + i);

		if (utf8_bad_at32(p, i, v))
			return NULL;
		if (!_mm256_movemask_epi8(_mm256_or_si256(json_control32(v),
							  json_quote32(v)))) {
			_mm256_storeu_si256((__m256i *)(void *)o, v);
			o += 32;
			continue;
		}
		o = json_put_block16(o, p + i, load16(p + i), n - i);
		o = json_put_block16(o, p + i + 16, load16(p + i + 16),
				     n - i - 16);
	}
	return json_put_text_from_sse2(o, p, i, n);
}
#endif

/* Any bytes: valid stretches a block at a time, and byte by byte for a
 * while after each byte that starts no valid sequence. */
static char *json_put_vec(char *o, const unsigned char *p, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		j = i + utf8_prefix_vec(p + i, n - i, NULL);
		o = json_put_valid_sse2(o, p + i, j - i);
		i = j;
		if (i < n)
			o = json_put_walk(o, p, n, &i,
					  n - i > WALK_AFTER_BAD
						  ? i + WALK_AFTER_BAD
						  : n);
	}
	return o;
}

/* The length json_put_vec gives, the same way. */
static size_t json_len_vec(const unsigned char *p, size_t n)
{
	size_t i = 0, j, len = 0;

	while (i < n) {
		j = i + utf8_prefix_vec(p + i, n - i, NULL);
		len += json_valid_len_vec(p + i, j - i);
		i = j;
		if (i < n)
			len += json_len_walk(p, n, &i,
					     n - i > WALK_AFTER_BAD
						     ? i + WALK_AFTER_BAD
						     : n);
	}
	return len;
}
#endif

/* ---- base64 ---- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The two characters of every 12-bit value, made on first use (like
 * best: a fact of the program, not of any caller's object). */
static char b64_pairs[4096][2];
static bool b64_pairs_made;

static size_t base64_walk(char *o, const unsigned char *p, size_t n)
{
	size_t i;
	unsigned v;

	if (!b64_pairs_made) {
		for (v = 0; v < 4096; v++) {
			b64_pairs[v][0] = b64_alphabet[v >> 6];
			b64_pairs[v][1] = b64_alphabet[v & 0x3f];
		}
		b64_pairs_made = true;
	}
	/* 3 bytes are two 12-bit halves, each two characters. */
	for (i = 0; i + 3 <= n; i += 3, o += 4) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		memcpy(o, b64_pairs[v >> 12], 2);
		memcpy(o + 2, b64_pairs[v & 0xfff], 2);
	}
	return i;
}

#ifdef JSCAN_AVX2
/*
 * Twelve bytes (four groups a b c) into sixteen characters, in the SSSE3
 * instructions that every AVX2 CPU has. Each 32-bit lane gets the bytes
 * b a c b, so its low half is the 16-bit word ab and its high half bc.
 * The four 6-bit indices are then bits 15..10 and 9..4 of ab and bits
 * 11..6 and 5..0 of bc: two masks and two multiplies (one keeping the
 * high half of the product, a right shift; one the low, a left shift)
 * put each in its own byte. A character is its index plus an offset
 * that depends only on the index's range, looked up with pshufb by a
 * small key: 13 for 0..25, 0 for 26..51, 1..12 for 52..63.
 */
AVX2_FN size_t base64_avx2(char *o, const unsigned char *p, size_t n)
{
	const __m128i spread = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7,
					     10, 9, 11, 10);
	const __m128i hi_mask = _mm_set1_epi32(0x0fc0fc00);
	const __m128i hi_mul = _mm_set1_epi32(0x04000040);
	const __m128i lo_mask = _mm_set1_epi32(0x003f03f0);
	const __m128i lo_mul = _mm_set1_epi32(0x01000010);
	const __m128i offsets = _mm_setr_epi8(71, -4, -4, -4, -4, -4, -4, -4,
					      -4, -4, -4, -19, -16, 65, 0, 0);
	size_t i;

	/* Each load reads 16 bytes and uses 12: stop 4 short of the end. */
	for (i = 0; i + 16 <= n; i += 12, o += 16) {
		__m128i in =
			_mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i idx, key;

		in = _mm_shuffle_epi8(in, spread);
		idx = _mm_or_si128(
			_mm_mulhi_epu16(_mm_and_si128(in, hi_mask), hi_mul),
			_mm_mullo_epi16(_mm_and_si128(in, lo_mask), lo_mul));
		key = _mm_or_si128(
			_mm_subs_epu8(idx, _mm_set1_epi8(51)),
			_mm_and_si128(_mm_cmpgt_epi8(_mm_set1_epi8(26), idx),
				      _mm_set1_epi8(13)));
		_mm_storeu_si128(
			(__m128i *)(void *)o,
			_mm_add_epi8(idx, _mm_shuffle_epi8(offsets, key)));
	}
	return i + base64_walk(o, p + i, n - i);
}
#endif

size_t jscan_base64(char *o, const unsigned char *p, size_t n)
{
#ifdef JSCAN_AVX2
	if (path_now() == JSCAN_PATH_AVX2)
		return base64_avx2(o, p, n);
#endif
	return base64_walk(o, p, n);
}

size_t utf8_valid_prefix(const unsigned char *p, size_t n, size_t *partial)
{
#ifdef __SSE2__
	if (path_now() != JSCAN_PATH_SCALAR)
		return utf8_prefix_vec(p, n, partial);
#endif
	return utf8_prefix_walk(p, n, partial);
}

char *jscan_put(char *o, const unsigned char *p, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	if (path_now() != JSCAN_PATH_SCALAR)
		return json_put_vec(o, p, n);
#endif
	return json_put_walk(o, p, n, &i, n);
}

char *jscan_put_text(char *o, const unsigned char *p, size_t n)
{
	size_t i = 0;

#ifdef JSCAN_AVX2
	if (path_now() == JSCAN_PATH_AVX2)
		return json_put_text_avx2(o, p, n);
#endif
#ifdef __SSE2__
	if (path_now() != JSCAN_PATH_SCALAR)
		return json_put_text_sse2(o, p, n);
#endif
	if (utf8_prefix_walk(p, n, NULL) != n)
		return NULL;
	return json_put_walk(o, p, n, &i, n);
}

size_t jscan_len(const unsigned char *p, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	if (path_now() != JSCAN_PATH_SCALAR)
		return json_len_vec(p, n);
#endif
	return json_len_walk(p, n, &i, n);
}

bool jscan_text_len(const unsigned char *p, size_t n, size_t *len)
{
	size_t i = 0;

#ifdef __SSE2__
	if (path_now() != JSCAN_PATH_SCALAR)
		return json_text_len_vec(p, n, len);
#endif
	if (utf8_prefix_walk(p, n, NULL) != n)
		return false;
	*len = json_len_walk(p, n, &i, n);
	return true;
}
