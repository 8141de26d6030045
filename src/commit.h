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

#endif							/* EVLOG_COMMIT_H */
