/*-------------------------------------------------------------------------
 *
 * follower.h
 *	  A follower: a database whose log is the target of a subscription
 *	  (README "Followers and change data capture").
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_FOLLOWER_H
#define EVLOG_FOLLOWER_H

#include "access/htup.h"
#include "utils/relcache.h"

#include "appendcache.h"

#define ERRCODE_EVLOG_FOLLOWER_READ_ONLY		MAKE_SQLSTATE('E','V','0','0','7')

extern void evlog_follower_init(void);
extern void evlog_follower_refuse_append(Oid relid);
extern bool evlog_follower_folds_sync(void);
extern void evlog_follower_check_row(Relation rel, HeapTuple tuple,
									 const EvlogHead *head);

#endif							/* EVLOG_FOLLOWER_H */
