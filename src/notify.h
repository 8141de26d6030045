/*-------------------------------------------------------------------------
 *
 * notify.h
 *	  What a committed append announces (notify.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_NOTIFY_H
#define EVLOG_NOTIFY_H

extern void evlog_notify_init(void);
extern void evlog_wake_worker_at_commit(void);
extern void evlog_registry_changed(void);

#endif							/* EVLOG_NOTIFY_H */
