/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  evlog's statistics (README "Statistics and monitoring"): counters of
 *	  appends, retries, conflicts, folds, dead letters, polls and
 *	  deliveries, and the time spent waiting for the sequencer, kept in
 *	  shared memory per database and shown by evlog.stats.
 *
 * Every count is made in a backend-local buffer by a one-line call at the
 * place where the thing happens, and added to shared memory when the
 * transaction ends: a count costs no lock and no shared cache line.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_STATS_H
#define EVLOG_STATS_H

#include "portability/instr_time.h"

/* The counters, in the order of evlog.stats' columns */
typedef enum EvlogStat
{
	EVLOG_STAT_APPENDS,			/* events appended by committed transactions */
	EVLOG_STAT_RETRIES,			/* appends that found their idempotency key */
	EVLOG_STAT_CONFLICTS,		/* EV002 */
	EVLOG_STAT_VERSION_CONFLICTS,	/* EV003 */
	EVLOG_STAT_REJECTED,		/* EV004 */
	EVLOG_STAT_ABORTED_APPENDS, /* events whose (sub)transaction rolled back */
	EVLOG_STAT_SEQUENCER_WAIT_US,	/* microseconds waited for the sequencer */
	EVLOG_STAT_FOLDS,			/* events a handler folded, committed */
	EVLOG_STAT_FOLD_FAILURES,	/* handler errors recorded (on_error) */
	EVLOG_STAT_DEAD_LETTERS,	/* dead letters written */
	EVLOG_STAT_POLLS,			/* consumer group polls */
	EVLOG_STAT_DELIVERIES,		/* events delivered to consumer group members */
	EVLOG_STAT_POLL_WAKEUPS,	/* waiting polls woken (herald included) */
	EVLOG_STAT_EMPTY_WAKEUPS,	/* of those, not the herald, that gave nothing */
	EVLOG_NUM_STATS
} EvlogStat;

/* What evlog_stats_mark saves and evlog_stats_undo restores */
typedef struct EvlogStatsMark
{
	int64		pending[EVLOG_NUM_STATS];
	int64		wait_max_us;
} EvlogStatsMark;

extern void evlog_stats_init(void);
extern void evlog_stats_add(EvlogStat which, int64 n);
extern void evlog_stats_forget_database(Oid dboid);
extern void evlog_stats_count_append(void);
extern void evlog_stats_count_fold(void);
extern void evlog_stats_checking(bool on);
extern instr_time evlog_stats_wait_begin(void);
extern void evlog_stats_wait_end(instr_time start);
extern void evlog_stats_mark(EvlogStatsMark *mark);
extern void evlog_stats_undo(const EvlogStatsMark *mark);

#endif							/* EVLOG_STATS_H */
