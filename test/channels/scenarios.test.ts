/** The shared channel scenarios, run over every platform fake (scenarios.ts). */
import { defineChannelScenarios } from "./scenarios.ts";
import { startDiscordFake } from "./fakes/discord.ts";
import { startSignalFake } from "./fakes/signal.ts";
import { startSlackFake } from "./fakes/slack.ts";
import { startTelegramFake } from "./fakes/telegram.ts";

defineChannelScenarios("telegram", () => startTelegramFake());
defineChannelScenarios("slack", () => startSlackFake());
defineChannelScenarios("discord", () => startDiscordFake());
defineChannelScenarios("signal", () => startSignalFake());
