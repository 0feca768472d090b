import type { Answer } from "@sdn/contracts";
import type { FastifyReply } from "fastify";
import { sendError } from "./http-errors.js";

/** Turns a service's answer into the HTTP response: its data, or its error with the matching status. */
export const replyWithAnswer = <T>(reply: FastifyReply, answer: Answer<T>, successStatus = 200): FastifyReply =>
  answer.ok ? reply.status(successStatus).send(answer.data) : sendError(reply, answer.error);
