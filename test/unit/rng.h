/* A small seeded generator (xorshift64) for the unit tests that draw many inputs at random: the
 * same inputs every run, so that a failure can be run again. */
#ifndef OSTRECON_TEST_RNG_H
#define OSTRECON_TEST_RNG_H

static unsigned long long rng_state = 88172645463325252ULL;

static inline unsigned rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state >> 11);
}

#endif
