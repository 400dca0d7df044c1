"""OpenAI-compatible embeddings endpoints (`/v1/embeddings`): the inputs and request bodies
(setup), the answer's rules (rules), the contract (contract) and the hostile inputs (probes).
The load phase reads answers in benchbox.load.llm (`ChatSpec.api == "embeddings"`)."""
