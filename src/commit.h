/*-------------------------------------------------------------------------
 *
 * commit.h
 *	  Group commit: flush an appending transaction's commit record after
 *	  the sequencer is released (evlog.group_commit).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_COMMIT_H
#define EVLOG_COMMIT_H


extern void evlog_commit_init(void);
extern void evlog_commit_defer_flush(void);

/* called once a deferred flush (and synchronous replication) is done */
typedef void (*evlog_commit_durable_hook_type) (void);
extern evlog_commit_durable_hook_type evlog_commit_durable_hook;

#endif							/* EVLOG_COMMIT_H */
