# One image for every node kind: the Api (default entry point) and the standalone silo (/app/silo).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Api/Api.csproj -c Release -o /app/api \
 && dotnet publish src/Silo/Silo.csproj -c Release -o /app/silo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# pg_dump for full backups (found on PATH).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/shohayota && chown app:app /var/lib/shohayota
COPY --from=build /app /app
USER app
WORKDIR /app/api
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    Shohayota__DataDirectory=/var/lib/shohayota
EXPOSE 8080 11111 30000
ENTRYPOINT ["dotnet", "/app/api/Shohayota.Api.dll"]
