CREATE TABLE `deliveries` (
	`id` integer PRIMARY KEY NOT NULL,
	`received_at` integer NOT NULL,
	`request_id` text NOT NULL,
	`source_ip` text,
	`method` text NOT NULL,
	`path` text NOT NULL,
	`status` integer NOT NULL,
	`outcome` text NOT NULL,
	`reason` text,
	`event_id` text,
	`body_bytes` integer,
	`latency_ms` real NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`contact_id` text,
	`email` text,
	`status` text,
	`created_at_raw` text,
	`created_at` integer,
	`received_at` integer NOT NULL,
	`source_ip` text,
	`request_id` text,
	`raw_body` blob NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_event_id_unique` ON `events` (`event_id`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY NOT NULL,
	`event_seq` integer NOT NULL,
	`handler` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`run_at` integer NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`event_seq`) REFERENCES `events`(`seq`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "outbox_state_check" CHECK(state IN ('pending', 'processing', 'done', 'dead'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_event_handler_unique` ON `outbox` (`event_seq`,`handler`);--> statement-breakpoint
CREATE INDEX `outbox_state_run_at_idx` ON `outbox` (`state`,`run_at`);