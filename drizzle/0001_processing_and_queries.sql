CREATE TABLE `event_keys` (
	`key` text NOT NULL,
	`event_seq` integer NOT NULL,
	PRIMARY KEY(`key`, `event_seq`)
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `subscriber_events` (
	`subscriber_id` integer NOT NULL,
	`event_seq` integer NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`event_at` integer NOT NULL,
	`outcome` text NOT NULL,
	`recorded_at` integer NOT NULL,
	PRIMARY KEY(`subscriber_id`, `event_seq`),
	FOREIGN KEY (`subscriber_id`) REFERENCES `subscribers`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "subscriber_events_outcome_check" CHECK(outcome IN ('applied', 'stale'))
);
--> statement-breakpoint
CREATE TABLE `subscribers` (
	`id` integer PRIMARY KEY NOT NULL,
	`key` text NOT NULL,
	`contact_id` text,
	`email` text,
	`first_name` text,
	`last_name` text,
	`status` text,
	`created_at_raw` text,
	`created_at` integer,
	`confirmed_at` integer,
	`unsubscribed_at` integer,
	`last_event_id` text NOT NULL,
	`last_event_seq` integer NOT NULL,
	`last_event_type` text NOT NULL,
	`last_event_at` integer NOT NULL,
	`last_event_order` text NOT NULL,
	`field_orders` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscribers_key_unique` ON `subscribers` (`key`);--> statement-breakpoint
CREATE INDEX `subscribers_status_idx` ON `subscribers` (`status`);--> statement-breakpoint
CREATE INDEX `subscribers_email_idx` ON `subscribers` (`email`);--> statement-breakpoint
DROP INDEX `outbox_state_run_at_idx`;--> statement-breakpoint
ALTER TABLE `outbox` ADD `result` text;--> statement-breakpoint
CREATE INDEX `outbox_state_handler_run_at_idx` ON `outbox` (`state`,`handler`,`run_at`);--> statement-breakpoint
CREATE INDEX `outbox_unfinished_state_idx` ON `outbox` (`state`) WHERE state <> 'done';--> statement-breakpoint
ALTER TABLE `events` ADD `content_type` text;--> statement-breakpoint
CREATE INDEX `deliveries_unusual_status_idx` ON `deliveries` (`status`) WHERE status <> 200;--> statement-breakpoint
CREATE INDEX `deliveries_unusual_outcome_idx` ON `deliveries` (`outcome`) WHERE outcome <> 'accepted';