/*-------------------------------------------------------------------------
 *
 * utility.h
 *	  evlog's ProcessUtility hook.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_UTILITY_H
#define EVLOG_UTILITY_H

extern void evlog_utility_init(void);

#endif							/* EVLOG_UTILITY_H */
