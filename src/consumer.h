/*-------------------------------------------------------------------------
 *
 * consumer.h
 *	  Consumer groups: durable readers of the log for processes outside
 *	  the database (README "Consumer groups").
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_CONSUMER_H
#define EVLOG_CONSUMER_H

extern void evlog_consumer_init(void);

#endif							/* EVLOG_CONSUMER_H */
