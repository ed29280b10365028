CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deliveries_unusual_status_idx` ON `deliveries` (`status`) WHERE status <> 200;--> statement-breakpoint
CREATE INDEX `deliveries_unusual_outcome_idx` ON `deliveries` (`outcome`) WHERE outcome <> 'accepted';--> statement-breakpoint
CREATE INDEX `events_received_at_idx` ON `events` (`received_at`);--> statement-breakpoint
CREATE INDEX `events_type_received_at_idx` ON `events` (`type`,`received_at`);--> statement-breakpoint
CREATE INDEX `events_email_received_at_idx` ON `events` (`email`,`received_at`);--> statement-breakpoint
CREATE INDEX `events_contact_id_received_at_idx` ON `events` (`contact_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `outbox_unfinished_state_idx` ON `outbox` (`state`) WHERE state <> 'done';